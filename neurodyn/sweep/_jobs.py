"""What one cluster job runs: train exactly its regions of a store, then say so in a side file.

A job is handed the store's path and, for each group it touches, the group's members and
the regions (member slices) it must train. It opens nothing but its own regions: it takes
each region's lock, trains it with `train_region` (which writes the data and the done
marker), and after every region rewrites its side file `_jobs/<job>.json` with the
statuses of the members it finished. It never writes the members table or the root
attributes; the parent that submitted it does.
"""

import dataclasses

import jax

from .. import _faults, store
from ..store._files import atomic_write_json, now_iso, owner, read_json
from ..store._layout import store_root
from ._plan import BuiltMembers, Group, config_of, recipe_of
from ._shared import _devices, _eval_trials, _status, snapshot_steps

JOBS_DIR = "_jobs"


@dataclasses.dataclass
class JobGroup:
    """One group as a job sees it: every member (the evaluation batch depends on all) and its regions."""

    name: str
    members: list  # the group's `Member`s, in the group's order
    chunk: int
    regions: list[tuple[int, int]]  # (start, stop) positions along the group's member axis


@dataclasses.dataclass
class JobTask:
    """Everything a job needs, picklable: no arrays, no open files."""

    name: str
    path: str
    groups: list[JobGroup]
    trajectories: int
    snapshot_every: int | None
    checkpoint_every: int
    devices: int | None
    break_lock: bool

    def region_names(self) -> list[str]:
        return [f"{g.name}/{store.region_name(slice(*r))}" for g in self.groups for r in g.regions]


def side_file(path, job: str):
    return store_root(path) / JOBS_DIR / f"{job}.json"


def read_side_files(path) -> list[dict]:
    """Every job side file of a store, oldest submission first."""
    directory = store_root(path) / JOBS_DIR
    if not directory.is_dir():
        return []
    return [read_json(p) for p in sorted(directory.glob("*.json"))]


def run_job(task: JobTask) -> dict:
    """Train the regions of `task` into its store; return (and store) the job's report."""
    from ..train._members import use_cpu_cores_if_possible
    from ._region import train_region

    use_cpu_cores_if_possible()  # a job is its own process: one device per allotted core
    devices = _devices(task.devices)
    report = {**owner(), "job": task.name, "regions": task.region_names(), "finished": [], "statuses": {}, "state": "running"}
    atomic_write_json(side_file(task.path, task.name), report)
    todo = [(g, r) for g in task.groups for r in g.regions]
    cache = {}
    for n, (jg, (start, stop)) in enumerate(todo):
        region = slice(start, stop)
        name = store.region_name(region)
        if not store.is_done(task.path, jg.name, name):
            if jg.name not in cache:
                built = BuiltMembers(jg.members)  # by position; each built when first needed
                group = Group(jg.name, list(range(len(jg.members))), jg.chunk, "")
                cache[jg.name] = built, _eval_trials(
                    group, {i: recipe_of(m).build_task() for i, m in enumerate(jg.members)}, task.trajectories
                )
            built_all, (shared, trials) = cache[jg.name]
            region_trials = trials if shared else jax.tree_util.tree_map(lambda x: x[region], trials)
            with store.region_lock(task.path, jg.name, name, break_lock=task.break_lock):
                result = train_region(
                    task.path,
                    jg.name,
                    region,
                    [built_all[i] for i in range(start, stop)],
                    shared_trials=shared,
                    eval_trials=region_trials,
                    devices=devices,
                    checkpoint_every=task.checkpoint_every,
                    snapshot_steps=snapshot_steps(config_of(recipe_of(jg.members[0]).train), task.snapshot_every),
                )
            for pos, member in enumerate(jg.members[start:stop]):
                report["statuses"][str(member.index)] = _status(result, pos)
        report["finished"].append(f"{jg.name}/{name}")
        report["time"] = now_iso()
        atomic_write_json(side_file(task.path, task.name), report)
        if n + 1 < len(todo):
            _faults.crash_point("job_between_regions")
    report["state"] = "finished"
    atomic_write_json(side_file(task.path, task.name), report)
    return report
