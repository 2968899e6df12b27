"""The store: one zarr v3 directory holding a sweep's members table, one Dataset per
group, analysis results, and the bookkeeping that makes writing it crash-safe (done
markers, region locks, checkpoints). See `_layout.py` for the directory layout."""

from ._checkpoint import (
    load_checkpoint as load_checkpoint,
    read_checkpoint_meta as read_checkpoint_meta,
    remove_checkpoint as remove_checkpoint,
    save_checkpoint as save_checkpoint,
)
from ._encoding import fill_value as fill_value
from ._groups import (
    append_members as append_members,
    read_group as read_group,
    write_dataset as write_dataset,
)
from ._layout import region_name as region_name
from ._locks import (
    LockedError as LockedError,
    RegionLock as RegionLock,
    RegionLockError as RegionLockError,
    StaleLockError as StaleLockError,
    live_locks as live_locks,
    region_lock as region_lock,
)
from ._members import read_members as read_members, write_members as write_members
from ._regions import (
    done_regions as done_regions,
    is_done as is_done,
    mark_done as mark_done,
    write_region as write_region,
)
from ._store import (
    MIGRATIONS as MIGRATIONS,
    Store as Store,
    create_store as create_store,
    open_store as open_store,
    set_complete as set_complete,
    update_attrs as update_attrs,
)
