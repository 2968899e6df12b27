"""The store: one zarr v3 directory holding a sweep's members table, one Dataset per
group, analysis results, and the bookkeeping that makes writing it crash-safe (done
markers, region locks, checkpoints). See `_layout.py` for the directory layout."""

from ._checkpoint import CheckpointError as CheckpointError
from ._checkpoint import load_checkpoint as load_checkpoint
from ._checkpoint import read_checkpoint_meta as read_checkpoint_meta
from ._checkpoint import remove_checkpoint as remove_checkpoint
from ._checkpoint import save_checkpoint as save_checkpoint
from ._encoding import fill_value as fill_value
from ._groups import append_members as append_members
from ._groups import create_group as create_group
from ._groups import read_group as read_group
from ._groups import repair_group as repair_group
from ._groups import write_dataset as write_dataset
from ._layout import region_name as region_name
from ._locks import LockedError as LockedError
from ._locks import RegionLock as RegionLock
from ._locks import RegionLockError as RegionLockError
from ._locks import StaleLockError as StaleLockError
from ._locks import coordinator_lock as coordinator_lock
from ._locks import live_locks as live_locks
from ._locks import region_lock as region_lock
from ._members import read_members as read_members
from ._members import write_members as write_members
from ._regions import done_regions as done_regions
from ._regions import is_done as is_done
from ._regions import mark_done as mark_done
from ._regions import undo_done as undo_done
from ._regions import write_region as write_region
from ._remote import RemotePath as RemotePath
from ._store import MIGRATIONS as MIGRATIONS
from ._store import Store as Store
from ._store import VerifyReport as VerifyReport
from ._store import check_target as check_target
from ._store import check_writable as check_writable
from ._store import create_store as create_store
from ._store import damaged_regions_of as damaged_regions_of
from ._store import marked_groups as marked_groups
from ._store import open_store as open_store
from ._store import set_complete as set_complete
from ._store import update_attrs as update_attrs
from ._store import verify_store as verify_store
from ._sweep_store import SweepStore as SweepStore
from ._sweep_store import best_parameters as best_parameters
from ._sweep_store import open_sweep as open_sweep
