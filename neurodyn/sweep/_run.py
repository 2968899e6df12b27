"""`run_sweep`: spec in, one labelled store out; crash-safe and resumable."""

import dataclasses
import pathlib
import time

import jax
import numpy as np
import xarray as xr

from .. import _faults, store
from ..spec import SweepSpec
from ..store._layout import store_root
from ..train._members import devices_for, padded_size
from ._datasets import group_template
from ._plan import BuiltMembers, Plan, config_of, estimate_bytes, plan_sweep, recipe_of, shapes_of
from ._progress import SweepProgress
from ._region import train_region
from ._shared import EVAL_SEED as EVAL_SEED
from ._shared import _devices, _eval_trials, _status, snapshot_steps

#: The fixed key of every group's evaluation batch (trajectories stored after training).
DEFAULT_TRAJECTORY_TRIALS = 16


@dataclasses.dataclass
class SweepResult:
    """What `run_sweep` leaves behind: the store's path, the plan and the members table."""

    path: pathlib.Path  # a `RemotePath` for a store behind an fsspec URL
    plan: Plan
    members: xr.Dataset | None
    jobs: list | None = None  # the submitted jobs, with a submitit executor

    def open(self):
        from ..store import open_sweep

        return open_sweep(self.path)


def as_spec(spec) -> SweepSpec:
    if isinstance(spec, SweepSpec):
        return spec
    if isinstance(spec, dict):
        return SweepSpec.from_dict(spec)
    if isinstance(spec, (str, pathlib.Path)):
        return SweepSpec.from_toml(spec)
    raise TypeError(f"spec must be a SweepSpec, a dict or a path to a TOML file, got {type(spec).__name__}.")


def run_sweep(
    spec,
    out,
    *,
    resume: bool = False,
    overwrite: bool = False,
    dry_run: bool = False,
    devices: int | None = None,
    break_lock: bool = False,
    progress: bool = True,
    console=None,
    executor: str = "local",
    executor_options: dict | None = None,
    force: bool = False,
    verify_contents: bool = False,
) -> SweepResult:
    """Train every member of a sweep and write one store.

    **Arguments:**

    - `spec`: a `SweepSpec`, a dict with sections task/model/train/sweep, or a TOML path.
    - `out`: the store's path (a directory, conventionally `*.zarr`), or an fsspec URL
      (`s3://bucket/run.zarr`, `memory://...`; credentials from fsspec's configuration).
    - `resume`: continue an interrupted or grown sweep: finished regions are kept, the
      others continue from their last checkpoint, new members are added.
    - `overwrite`: replace an existing store.
    - `dry_run`: print members, groups, compile units and memory estimates; train nothing.
    - `devices`: shard each group's members over the first `devices` devices
      (default: all of `jax.devices()`).
    - `break_lock`: clear locks left by a killed process (never a live one).
    - `executor`: `"local"` trains here; `"slurm"` (submitit on SLURM) and
      `"submitit-local"` (submitit subprocesses) run one job per region, or per batch of
      regions; this process waits and writes the members table. Failed jobs raise
      `JobsFailedError` naming their regions; `resume=True` retrains only those.
    - `executor_options`: for the submitit executors: `partition`, `time` (minutes or
      'HH:MM:SS'), `gpus_per_job`, `cpus_per_job`, `mem_gb`, `members_per_job` or `jobs`,
      `folder` (job logs), `poll_s`, `slurm_additional_parameters`.
    - `force`: train (or plan) a sweep whose estimated memory per region exceeds what
      the devices have, with a warning; without it such a sweep is refused before
      anything is written (the same estimate `--dry-run` prints).
    - `verify_contents`: on resume, check the contents of every done region against its
      marker (reads every chunk), not only chunk counts and sizes (the default).

    **Returns:** a `SweepResult`; `.open()` gives the store for reading.
    """
    from rich.console import Console

    from ._executors import check_executor

    spec = as_spec(spec)
    options = check_executor(executor, executor_options)
    console = console or Console()
    path = store_root(out)
    if resume and overwrite:
        raise ValueError("choose one of resume=True (--resume) and overwrite=True (--overwrite), not both.")
    if not isinstance(force, bool):
        raise TypeError(f"force={force!r} must be True or False.")
    existing = None
    if resume:
        try:
            existing = store.open_store(path, mode="a")
        except FileNotFoundError as err:
            raise FileNotFoundError(f"{err} Nothing to resume: start the sweep without --resume (resume=False).") from None
    elif not dry_run:
        store.check_target(path, overwrite=overwrite)
    plan = _plan(spec, existing, console)
    device_list = _devices(devices)
    checkpoint_every = int(spec.sweep.get("checkpoint_every", 1))
    n_traj = int(spec.sweep.get("trajectories", DEFAULT_TRAJECTORY_TRIALS))
    snapshot_every = spec.sweep.get("snapshot_every")
    shapes = {g.name: shapes_of(plan.members[g.members[0]]) for g in plan.groups}
    snapshots = {g.name: snapshot_steps(shapes[g.name][2], snapshot_every) for g in plan.groups}
    estimates = {
        g.name: estimate_bytes(*shapes[g.name], padded_size(g.chunk, len(devices_for(g.chunk, device_list))),
                               n_snapshots=len(snapshots[g.name]), n_trajectories=n_traj)
        for g in plan.groups
    }
    _check_memory(plan, estimates, device_list, force=force, console=console)
    if dry_run:
        from ._dryrun import print_plan

        print_plan(plan, estimates=estimates, console=console)
        return SweepResult(path, plan, None)

    built = BuiltMembers(plan.members)  # each member built when first needed, once
    tasks = {i: recipe_of(plan.members[i]).build_task() for g in plan.groups for i in g.members}
    evals = {g.name: _eval_trials(g, tasks, n_traj) for g in plan.groups}
    templates = {g.name: _template(g, built, evals[g.name], snapshots[g.name]) for g in plan.groups}
    if existing is None:
        members = members_table(plan, {})
        store.create_store(
            path,
            attrs={"spec": spec.to_dict(), "seeds": sorted({m.seed for m in plan.members})},
            members=members,
            groups=templates,
            overwrite=overwrite,
        )
    with store.coordinator_lock(path, break_lock=break_lock):
        if existing is not None:
            _repair(path, plan, templates, console, hashes=verify_contents)
            _grow(path, spec, plan, templates)
        statuses = _statuses_from_store(path, plan)
        store.write_members(path, members_table(plan, statuses))
        _faults.crash_point("after_members_written")
        if executor != "local":
            return _run_with_jobs(path, plan, statuses, executor, options, spec, devices, break_lock, progress, console)
        bar = SweepProgress(plan, enabled=progress, console=console)
        with bar:
            for g in plan.groups:
                shared, trials = evals[g.name]
                for region in g.regions():
                    name = store.region_name(region)
                    if store.is_done(path, g.name, name):
                        bar.skip(g, region)
                        continue
                    members = [built[g.members[i]] for i in range(region.start, region.stop)]
                    region_trials = trials if shared else jax.tree_util.tree_map(lambda x: x[region], trials)
                    with store.region_lock(path, g.name, name, break_lock=break_lock):
                        start = time.perf_counter()
                        result = train_region(
                            path,
                            g.name,
                            region,
                            members,
                            shared_trials=shared,
                            eval_trials=region_trials,
                            devices=device_list,
                            checkpoint_every=checkpoint_every,
                            snapshot_steps=snapshots[g.name],
                            on_progress=bar.updater(g, region),
                            on_warning=lambda message: _warn(console, message),
                        )
                        bar.finish_region(g, region, result, time.perf_counter() - start)
                    for pos, idx in enumerate(g.members[region]):
                        statuses[idx] = _status(result, pos)
                    store.write_members(path, members_table(plan, statuses))
                    _faults.crash_point("between_regions")
                _faults.crash_point("between_groups")
        store.set_complete(path, True)
    return SweepResult(path, plan, store.read_members(path))


def _run_with_jobs(path, plan, statuses, executor, options, spec, devices, break_lock, progress, console):
    """Train the unfinished regions in submitit jobs; write the members table from their reports."""
    from ._executors import JobsFailedError, run_jobs, statuses_from_jobs

    settings = {
        "trajectories": int(spec.sweep.get("trajectories", DEFAULT_TRAJECTORY_TRIALS)),
        "snapshot_every": spec.sweep.get("snapshot_every"),
        "checkpoint_every": int(spec.sweep.get("checkpoint_every", 1)),
        "devices": devices,
        "break_lock": break_lock,
    }
    try:
        jobs = run_jobs(path, plan, executor=executor, options=options, settings=settings, progress=progress, console=console)
    except JobsFailedError:
        store.write_members(path, members_table(plan, {**statuses, **statuses_from_jobs(path, plan)}))
        raise
    store.write_members(path, members_table(plan, {**statuses, **statuses_from_jobs(path, plan)}))
    store.set_complete(path, True)
    return SweepResult(path, plan, store.read_members(path), jobs)


def _check_memory(plan: Plan, estimates: dict, devices, *, force: bool, console) -> None:
    """Refuse (or, with `force`, warn about) a region too large for the devices."""
    from ._plan import available_bytes

    limit, source = available_bytes(devices)
    if limit is None:
        return
    for g in plan.groups:
        need = estimates[g.name]["total"]
        if need <= limit:
            continue
        message = (
            f"group {g.name} ({g.description}) needs about {_gb(need)} per region of {g.chunk} "
            f"member(s) ({_gb(estimates[g.name]['per_member'])} each), most of it for "
            f"{estimates[g.name]['largest']}: more than the {_gb(limit)} "
            f"of {source}. Use fewer members per region ([sweep] members_per_chunk), fewer "
            "steps or a smaller batch or size, [train] bptt_chunk for long trials; or pass "
            "--force (force=True) to try anyway."
        )
        if not force:
            raise ValueError(message)
        _warn(console, message)


def _gb(n: float) -> str:
    return f"{n / 2**30:.3g} GiB" if n >= 2**28 else f"{n / 2**20:.3g} MiB"


def _warn(console, message: str) -> None:
    from rich.markup import escape

    console.print(f"[yellow]warning:[/yellow] {escape(message)}")


def _repair(path, plan: Plan, templates: dict, console, *, hashes: bool = False) -> None:
    """Before a resumed sweep trains: re-create deleted groups and arrays, and take the
    done marker off every region whose files no longer match it, so it trains again."""
    known = set(store.marked_groups(path)) | set(store.open_store(path).groups)
    for g in plan.groups:
        if g.name in known:
            recreated = store.repair_group(path, g.name, templates[g.name])
            if recreated:
                _warn(console, f"group {g.name!r} of {str(path)!r} had lost {', '.join(recreated)}; re-created.")
    for group, regions in store.damaged_regions_of(path, hashes=hashes).items():
        for region, problems in regions.items():
            _warn(
                console,
                f"region {region!r} of group {group!r} is damaged ({'; '.join(problems[:3])}"
                f"{' …' if len(problems) > 3 else ''}); training it again.",
            )
            store.undo_done(path, group, region)
            store.remove_checkpoint(path, group, region)


def _plan(spec: SweepSpec, existing, console=None) -> Plan:
    if existing is None:
        return plan_sweep(spec)
    try:
        table = existing.members
    except FileNotFoundError as err:
        table = _rebuilt_table(spec, existing, err)
        if console is not None:
            _warn(console, f"the members table of {str(existing.path)!r} could not be read; rebuilt from the spec and the stored groups.")
    known = set(str(x) for x in np.asarray(table["params"].values))
    n_groups = len(existing.groups)
    new_plan = plan_sweep(spec, first_group=n_groups, exclude=None)
    return _merge_with_store(new_plan, table, known, n_groups)


def _rebuilt_table(spec: SweepSpec, existing, err) -> xr.Dataset:
    """The members table of a store whose table is lost, from the spec: only where the
    spec's plan has exactly the store's groups and members (else the error says why)."""
    if spec.to_dict() != existing.attrs.get("spec"):
        raise ValueError(
            f"{err} The members table is rebuilt only from the spec the store was written with, "
            "and this spec differs from it. Resume with that spec first (the store's root "
            "attributes hold it: `SweepSpec.from_dict(neurodyn.store.open_store(path).attrs['spec'])`), "
            "then grow the sweep."
        ) from None
    plan = plan_sweep(spec)
    stored = {g: np.asarray(store.read_group(existing.path, g)["member"].values).tolist() for g in existing.groups}
    planned = {g.name: list(g.members) for g in plan.groups}
    marked = set(store.marked_groups(existing.path))
    mismatch = [
        g for g in set(stored) | marked
        if g not in planned or (g in stored and stored[g] != planned[g])
    ]
    if mismatch:
        raise ValueError(
            f"{err} The members table cannot be rebuilt from this spec: its groups do not match "
            f"the store's ({sorted(mismatch)} differ). Give the spec the store was written with "
            "(its root attributes hold the last one: `SweepSpec.from_dict(open_store(path).attrs['spec'])`)."
        ) from None
    return members_table(plan, {})


def _merge_with_store(plan: Plan, table: xr.Dataset, known: set, n_groups: int) -> Plan:
    """Give stored members their stored indices and groups; new members new ones."""
    from ._plan import Group

    stored_params = [str(x) for x in np.asarray(table["params"].values)]
    stored_groups = [str(x) for x in np.asarray(table["group"].values)]
    stored_index = {p: i for i, p in enumerate(stored_params)}
    members, groups = [], {}
    next_index = len(stored_params)
    new_members = []
    order = {}
    for m in plan.members:
        key = _params_json(m)
        if key in stored_index:
            order[m.index] = stored_index[key]
        else:
            order[m.index] = next_index
            new_members.append(m.index)
            next_index += 1
    remap = {old: new for old, new in order.items()}
    by_new = {}
    for m in plan.members:
        by_new[remap[m.index]] = dataclasses.replace(m, index=remap[m.index])
    # members of the store that the (possibly smaller) spec no longer names are kept.
    members = [by_new.get(i) for i in range(next_index)]
    spec_missing = [i for i, m in enumerate(members) if m is None]
    if spec_missing:
        raise ValueError(
            f"the spec no longer describes {len(spec_missing)} member(s) of this store "
            f"(e.g. index {spec_missing[0]}); --resume only continues a sweep or grows it. "
            "Use a new --out for a different sweep."
        )
    for i, gname in enumerate(stored_groups):
        groups.setdefault(gname, []).append(i)
    old_groups = []
    chunk_of = {g.name: g.chunk for g in plan.groups}
    for gname, idx in groups.items():
        old_groups.append(_stored_group(gname, idx, plan, remap, chunk_of))
    new_groups = []
    counter = n_groups
    for g in plan.groups:
        fresh = [remap[i] for i in g.members if i in new_members]
        if fresh:
            new_groups.append(Group(f"g{counter}", fresh, min(g.chunk, len(fresh)), g.description))
            counter += 1
    return Plan(plan.spec, members, old_groups + new_groups)


def _stored_group(name, idx, plan, remap, chunk_of):
    from ._plan import Group

    inverse = {v: k for k, v in remap.items()}
    chunk = len(idx)
    description = ""
    for g in plan.groups:
        if inverse.get(idx[0]) in g.members:
            chunk = min(g.chunk, len(idx))
            description = g.description
    return Group(name, idx, chunk, description)


def _params_json(member) -> str:
    """The members table's `params`: the member's recipe, serialised."""
    return recipe_of(member).to_json()


def _template(group, built, evals, snapshots):
    shared, trials = evals
    b = built[group.members[0]]
    cstate = None
    if b.curriculum is not None:
        cstate = b.curriculum.init(b.curriculum.start(b.task))
    return group_template(
        group.members,
        b.model,
        b.task,
        b.config.n_epochs * b.config.eval_every,
        b.config.n_epochs,
        trials,
        shared_trials=shared,
        eval_every=b.config.eval_every,
        curriculum_state=cstate,
        snapshot_steps=snapshots,
    )


def _grow(path, spec, plan, templates):
    """Create the groups a grown spec adds; existing groups are left untouched."""
    existing = set(store.open_store(path).groups)
    for g in plan.groups:
        if g.name not in existing:
            store.create_group(path, g.name, templates[g.name])
    store.update_attrs(path, spec=spec.to_dict(), complete=False)


def _statuses_from_store(path, plan: Plan) -> dict:
    """Statuses of members whose regions are already done (a resumed sweep)."""
    statuses = {}
    for g in plan.groups:
        done = store.done_regions(path, g.name)
        if not done:
            continue
        ds = store.read_group(path, g.name)
        for region in g.regions():
            if store.region_name(region) not in done:
                continue
            sub = ds.isel(member=region)
            eval_loss = np.asarray(sub["eval_loss"].values)
            eval_metric = np.asarray(sub["eval_metric"].values)
            for pos, idx in enumerate(g.members[region]):
                finite = np.isfinite(eval_loss[pos])
                last = int(np.nonzero(finite)[0][-1]) if finite.any() else None
                diverged = bool(sub["diverged"].values[pos])
                config = config_of(recipe_of(plan.members[idx]).train)
                converged = True
                if config.loss_threshold is not None:
                    tail = eval_loss[pos][finite][-max(config.patience, 1):]
                    converged = len(tail) >= max(config.patience, 1) and bool(np.all(tail < config.loss_threshold))
                statuses[idx] = {
                    "status": "diverged" if diverged else ("ok" if converged else "not_converged"),
                    "final_loss": float(eval_loss[pos][last]) if last is not None else float("nan"),
                    "final_metric": float(eval_metric[pos][last]) if last is not None else float("nan"),
                    "steps_trained": int(sub["steps_trained"].values[pos]),
                }
    return statuses


def members_table(plan: Plan, statuses: dict) -> xr.Dataset:
    """The members table: hyperparameters as coordinates, status and final numbers."""
    n = len(plan.members)
    group_of = {}
    region_of = {}
    for g in plan.groups:
        for region in g.regions():
            for idx in g.members[region]:
                group_of[idx] = g.name
                region_of[idx] = store.region_name(region)
    coords = {"member": np.arange(n, dtype=np.int64)}
    names = []
    for m in plan.members:
        for k in m.coords:
            if k not in names:
                names.append(k)
    for k in names:
        values = [m.coords.get(k) for m in plan.members]
        coords[k] = ("member", _column(values), {"long_name": _axis_long_name(plan.members, k)})
    status = [statuses.get(i, {}).get("status", "pending") for i in range(n)]
    data = {
        "group": ("member", np.asarray([group_of.get(i, "") for i in range(n)], dtype=str)),
        "region": ("member", np.asarray([region_of.get(i, "") for i in range(n)], dtype=str)),
        "status": ("member", np.asarray(status, dtype=str)),
        "final_loss": ("member", np.asarray([statuses.get(i, {}).get("final_loss", np.nan) for i in range(n)], np.float64)),
        "final_metric": ("member", np.asarray([statuses.get(i, {}).get("final_metric", np.nan) for i in range(n)], np.float64)),
        "steps_trained": ("member", np.asarray([statuses.get(i, {}).get("steps_trained", -1) for i in range(n)], np.int64)),
        "task": ("member", np.asarray([m.task["name"] for m in plan.members], dtype=str)),
        "model": ("member", np.asarray([m.model["name"] for m in plan.members], dtype=str)),
        "params": ("member", np.asarray([_params_json(m) for m in plan.members], dtype=str)),
    }
    return xr.Dataset(data, coords=coords)


def _axis_long_name(members, name: str) -> str:
    """What a members-table column is: the spec key it varies (`[train] nuclear`)."""
    if name == "seed":
        return "random seed of the member"
    for section in ("task", "model", "train"):
        for m in members:
            params = getattr(m, section)
            if name in params:
                return f"[{section}] {name} of the member (a sweep axis)"
            prefix = f"{section}_"
            if name.startswith(prefix) and name[len(prefix):] in params:
                return f"[{section}] {name[len(prefix):]} of the member (a sweep axis)"
    return f"{name} of the member (a sweep axis)"


def _column(values):
    if all(isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=bool)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=np.int64)
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=np.float64)
    return np.asarray([str(v) for v in values], dtype=str)
