"""The member-chunked driver every whole-sweep analysis runs through.

For each group of a store and each chunk of at most `members_per_chunk` of its members,
the driver rebuilds the chunk's trained models as one stacked Equinox model (a leading
`member` axis on every array), hands it with the chunk's stored data to the analysis
function, and collects the per-member results. Only one chunk of members is held in
memory at a time. Results go back into the store as `analyses/<name>.<group>` (one
Dataset per group, since groups may differ in sizes), with the analysis settings and the
code version as attributes; running an analysis again replaces its results.
"""

import dataclasses
import json
from collections.abc import Callable, Sequence

import equinox as eqx
import jax.random as jr
import numpy as np
import xarray as xr

from neurodyn import _checks
from neurodyn._version import __version__
from neurodyn.store import SweepStore, check_writable, open_sweep, read_group, write_dataset
from neurodyn.store._sweep_store import WHICH, with_parameters


@dataclasses.dataclass
class Chunk:
    """What an analysis function receives for one chunk of members."""

    group: str
    members: np.ndarray  # member ids
    models: eqx.Module  # stacked: a leading member axis on every array leaf
    data: xr.Dataset  # the chunk's slice of the group's Dataset (lazy)
    task: eqx.Module  # the first member's task (same structure for the whole group)
    key: object  # a PRNG key


def _member_params(sweep: SweepStore, member: int) -> dict:
    return sweep._member_params(int(member))


def template_model(sweep: SweepStore, member: int):
    """A model of the member's structure (numbers are placeholders) and its task."""
    return sweep.template(int(member))


def stacked_models(template, data: xr.Dataset, *, which: str = "final"):
    """`template` with every stored array field replaced by its `[member, ...]` values."""
    return with_parameters(template, data, which=which)


def select_members(sweep: SweepStore, selection: dict | None, *, trained_only: bool = True) -> np.ndarray:
    """Member ids matching `selection` (hyperparameter values), trained ones only."""
    table = sweep.members
    ids = np.asarray(table["member"].values) if not selection else sweep.select(**selection)
    error = sweep.damage_error(ids)
    if error is not None:
        raise error
    if trained_only:
        status = dict(zip(np.asarray(table["member"].values).tolist(), np.asarray(table["status"].values).tolist()))
        ids = np.asarray([i for i in ids if status[int(i)] in ("ok", "not_converged")], dtype=np.int64)
    return ids


def run_over_members(
    store,
    name: str,
    fn: Callable[[Chunk], xr.Dataset],
    *,
    members_per_chunk: int = 16,
    selection: dict | None = None,
    settings: dict | None = None,
    seed: int = 0,
    progress: bool = True,
    write: bool = True,
    groups: Sequence[str] | None = None,
    replace: bool = False,
    which: str = "final",
) -> dict[str, xr.Dataset]:
    """Run `fn` over chunks of members of every group and store the results.

    **Arguments:**

    - `store`: a path or an open `SweepStore`.
    - `name`: the analysis name (results go to `analyses/<name>.<group>`).
    - `fn`: receives a `Chunk`, returns a Dataset with a leading `member` dimension.
    - `members_per_chunk`: members held in memory (and vmapped) at once.
    - `selection`: hyperparameter values selecting members, e.g. `{"seed": 0}`.
    - `settings`: stored with the results (with the code version).
    - `replace`: results already stored for this analysis are kept and merged by
      member (members analysed now replace their own rows, the others stay) when they
      were computed with the same settings; with other settings the call is refused
      before any work, unless `replace=True` replaces them whole.
    - `which`: the stored parameters the models are rebuilt with: `"final"`, `"init"` or
      `"best"` (the lowest held-out loss among the snapshots; `neurodyn.store.best_parameters`).

    **Returns:** the results per group (the members analysed now).
    """
    if isinstance(members_per_chunk, bool) or not isinstance(members_per_chunk, int) or members_per_chunk < 1:
        raise ValueError(f"members_per_chunk={members_per_chunk!r} must be an integer >= 1.")
    _checks.choice(name, "which", which, WHICH)
    sweep = store if isinstance(store, SweepStore) else open_sweep(store)
    wanted = set(select_members(sweep, selection).tolist())
    table = sweep.members
    group_of = dict(zip(np.asarray(table["member"].values).tolist(), np.asarray(table["group"].values).tolist()))
    todo = {}
    for g in groups or sweep.groups:
        ids = [m for m in sorted(wanted) if group_of[m] == g]
        if ids:
            todo[g] = ids
    if not todo:
        raise ValueError(f"no trained member of {str(sweep.path)!r} matches {selection or 'the sweep'}; see `neurodyn info`.")
    if write:
        check_writable(sweep.path)
        check_stored_settings(sweep, name, list(todo), settings or {}, replace=replace)
    bar = _Progress(progress, sum(len(v) for v in todo.values()), name)
    results = {}
    key = jr.key(seed)
    with bar:
        for g, ids in todo.items():
            ds = sweep.group(g)
            stored = np.asarray(ds["member"].values)
            template, task = template_model(sweep, ids[0])
            parts = []
            for start in range(0, len(ids), members_per_chunk):
                chunk_ids = np.asarray(ids[start : start + members_per_chunk])
                positions = np.asarray([int(np.nonzero(stored == m)[0][0]) for m in chunk_ids])
                data = ds.isel(member=positions)
                models = stacked_models(template, data, which=which)
                key, sub = jr.split(key)
                parts.append(fn(Chunk(g, chunk_ids, models, data, task, sub)))
                bar.advance(len(chunk_ids))
            result = xr.concat(parts, dim="member") if len(parts) > 1 else parts[0]
            result = result.assign_coords(member=np.asarray(ids, dtype=np.int64))
            result.attrs.update(
                {
                    "analysis": name,
                    "group": g,
                    "neurodyn_version": __version__,
                    "settings": _jsonable(settings or {}),
                }
            )
            if write:
                stored = merge_by_member(sweep, f"{name}.{g}", result) if not replace else result
                write_dataset(sweep.path, f"analyses/{name}.{g}", stored, replace=True)
            results[g] = result
    return results


def stored_settings(attrs: dict) -> dict:
    """The settings an analysis stored (a dict, or its JSON text), normalised."""
    value = attrs.get("settings", {})
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {"settings": value}
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def check_stored_settings(sweep: SweepStore, name: str, groups: Sequence[str], settings: dict, *, replace: bool, ignore: Sequence[str] = ()) -> None:
    """Refuse, before any work, to mix results of other settings into stored ones."""
    if replace:
        return
    new = {k: v for k, v in stored_settings({"settings": _jsonable(settings)}).items() if k not in ignore}
    for g in groups:
        child = f"{name}.{g}" if g else name
        if child not in sweep._store.analyses:
            continue
        old = {k: v for k, v in stored_settings(read_group(sweep.path, f"analyses/{child}").attrs).items() if k not in ignore}
        if old != new:
            changed = sorted(set(old) | set(new), key=str)
            diff = ", ".join(f"{k}: {old.get(k, '(unset)')!r} -> {new.get(k, '(unset)')!r}" for k in changed if old.get(k) != new.get(k))
            raise ValueError(
                f"{str(sweep.path)!r} already holds {name!r} results computed with other settings "
                f"({diff}). Nothing was computed or changed. To replace them, pass replace=True "
                "(--replace); to keep both, copy the store first."
            )


def merge_by_member(sweep: SweepStore, child: str, new: xr.Dataset) -> xr.Dataset:
    """`new` joined with the stored rows of `analyses/<child>` for the other members."""
    if child not in sweep._store.analyses:
        return new
    old = read_group(sweep.path, f"analyses/{child}").load()
    if "member" not in old.dims:
        return new
    keep = old.isel(member=np.flatnonzero(~np.isin(np.asarray(old["member"].values), np.asarray(new["member"].values))))
    if keep.sizes["member"] == 0:
        return new
    fills = {}
    for var, arr in {**dict(keep.data_vars), **dict(new.data_vars)}.items():
        kind = arr.dtype.kind
        fills[var] = -1 if kind in "iu" else (False if kind == "b" else ("" if kind in "UO" else np.nan))
    merged = xr.concat([keep, new], dim="member", join="outer", fill_value=fills, combine_attrs="override")
    merged.attrs = dict(new.attrs)
    return merged.sortby("member")


def _jsonable(settings: dict) -> dict:
    out = {}
    for k, v in settings.items():
        if isinstance(v, (np.generic,)):
            v = v.item()
        if isinstance(v, (list, tuple)):
            v = [x.item() if isinstance(x, np.generic) else x for x in v]
        if v is None or isinstance(v, (bool, int, float, str, list, dict)):
            out[k] = v
        else:
            out[k] = repr(v)
    return out


class _Progress:
    def __init__(self, enabled: bool, total: int, name: str):
        self.enabled, self.total, self.name = enabled, total, name
        self.bar = None

    def __enter__(self):
        if self.enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(TextColumn(f"{self.name}"), BarColumn(), MofNCompleteColumn(), TextColumn("members"), TimeRemainingColumn())
            self.bar.start()
            self.task = self.bar.add_task(self.name, total=self.total)
        return self

    def advance(self, n: int):
        if self.bar is not None:
            self.bar.advance(self.task, n)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        return False
