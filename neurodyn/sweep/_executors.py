"""Executors: where a sweep's regions are trained.

`"local"` trains every region in this process (see `run_sweep`). `"slurm"` and
`"submitit-local"` hand batches of regions to submitit (SLURM through
`submitit.AutoExecutor`, real local subprocesses through `submitit.LocalExecutor`): one
job per batch runs `neurodyn.sweep._jobs.run_job`, writing only its own regions of the
shared store. This process waits, shows progress by polling the done markers, and
returns the members' statuses; it alone writes the members table afterwards.
"""

import dataclasses
import math
import re
import shutil
import time

from .. import store
from ..store._layout import store_root
from ..store._remote import RemotePath
from ._jobs import JOBS_DIR, JobGroup, JobTask, read_side_files, run_job

EXECUTORS = ("local", "submitit-local", "slurm")
OPTIONS = ("partition", "time", "gpus_per_job", "cpus_per_job", "mem_gb", "members_per_job", "jobs",
           "folder", "poll_s", "slurm_additional_parameters")


class JobsFailedError(RuntimeError):
    """Some jobs of a sweep ended without finishing their regions; resume to retrain those."""


def check_executor(executor: str, options: dict | None) -> dict:
    """Validate `executor` and `executor_options`; return the options as a dict."""
    if executor not in EXECUTORS:
        raise ValueError(f"executor={executor!r} is not one of {EXECUTORS}; use 'local' on one machine, 'slurm' on a cluster.")
    options = dict(options or {})
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ValueError(f"executor_options {unknown} are not known; the options are {list(OPTIONS)}.")
    if executor == "local" and options:
        raise ValueError(f"executor_options {sorted(options)} apply to the submitit executors only; drop them or use executor='slurm'.")
    for name in ("members_per_job", "jobs", "gpus_per_job", "cpus_per_job"):
        value = options.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"executor_options {name}={value!r} must be an integer >= 1.")
    if options.get("members_per_job") is not None and options.get("jobs") is not None:
        raise ValueError("give at most one of executor_options members_per_job and jobs.")
    if "time" in options:
        timeout_minutes(options["time"])
    return options


def timeout_minutes(value) -> int:
    """A job time limit in minutes from minutes (int) or SLURM's '[D-]HH:MM[:SS]'."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    match = re.fullmatch(r"(?:(\d+)-)?(\d+):(\d\d)(?::(\d\d))?", str(value))
    if not match:
        raise ValueError(f"executor_options time={value!r} must be minutes (e.g. 120) or 'HH:MM:SS' (e.g. '02:00:00').")
    days, hours, minutes, seconds = (int(x or 0) for x in match.groups())
    return max(1, days * 1440 + hours * 60 + minutes + math.ceil(seconds / 60))


def executor_parameters(executor: str, options: dict) -> dict:
    """The submitit parameters for `options` (names as `update_parameters` takes them)."""
    params = {"timeout_min": timeout_minutes(options.get("time", 60))}
    if options.get("gpus_per_job"):
        params["gpus_per_node"] = options["gpus_per_job"]
    if executor == "slurm":
        if options.get("cpus_per_job"):
            params["cpus_per_task"] = options["cpus_per_job"]
        if options.get("mem_gb"):
            params["mem_gb"] = options["mem_gb"]
        if options.get("partition"):
            params["slurm_partition"] = options["partition"]
        if options.get("slurm_additional_parameters"):
            params["slurm_additional_parameters"] = dict(options["slurm_additional_parameters"])
    return params


def batches(todo: list, options: dict) -> list[list]:
    """Split `(group, region)` pairs into jobs: one region each, `members_per_job`, or `jobs`."""
    if options.get("jobs"):
        n = min(options["jobs"], len(todo))
        size, extra = divmod(len(todo), n)
        out, start = [], 0
        for i in range(n):
            stop = start + size + (1 if i < extra else 0)
            out.append(todo[start:stop])
            start = stop
        return out
    cap = options.get("members_per_job")
    if not cap:
        return [[item] for item in todo]
    out, current, count = [], [], 0
    for item in todo:
        k = item[1].stop - item[1].start
        if current and count + k > cap:
            out.append(current)
            current, count = [], 0
        current.append(item)
        count += k
    if current:
        out.append(current)
    return out


def make_executor(executor: str, folder, options: dict):
    import submitit

    if executor == "submitit-local":
        ex = submitit.LocalExecutor(folder=folder)
    else:
        if shutil.which("sbatch") is None:
            raise RuntimeError(
                "executor='slurm' needs SLURM's `sbatch` on PATH (run this on the cluster's login node); "
                "on one machine use executor='local', or 'submitit-local' for real subprocesses."
            )
        ex = submitit.AutoExecutor(folder=folder, cluster="slurm")
    ex.update_parameters(**executor_parameters(executor, options))
    return ex


@dataclasses.dataclass
class SubmittedJob:
    name: str
    task: JobTask
    job: object  # a submitit Job


def run_jobs(path, plan, *, executor: str, options: dict, settings: dict, progress: bool, console) -> list[SubmittedJob]:
    """Submit one job per batch of unfinished regions, wait for all, report failures.

    `settings`: trajectories, snapshot_every, checkpoint_every, devices, break_lock.
    Raises `JobsFailedError` naming the failed jobs and their unfinished regions.
    """
    todo = [(g, r) for g in plan.groups for r in g.regions() if not store.is_done(path, g.name, store.region_name(r))]
    if not todo:
        return []
    root = store_root(path)
    folder = options.get("folder")
    if folder is None and isinstance(root, RemotePath):
        raise ValueError(
            f"The store {str(root)!r} is remote, but submitit keeps its job files and logs "
            "in a local folder every node sees: give executor_options={'folder': "
            "'/scratch/me/jobs'} (--jobs-folder on the command line)."
        )
    folder = folder or root / JOBS_DIR / "logs"
    ex = make_executor(executor, folder, options)
    submission = 1 + len({s["job"].split("-")[0] for s in read_side_files(path)})
    submitted = []
    for i, batch in enumerate(batches(todo, options)):
        name = f"s{submission:03d}-j{i:04d}"
        groups = {}
        for g, r in batch:
            jg = groups.setdefault(g.name, JobGroup(g.name, [plan.members[m] for m in g.members], g.chunk, []))
            jg.regions.append((r.start, r.stop))
        task = JobTask(name, str(root), list(groups.values()), **settings)
        submitted.append(SubmittedJob(name, task, ex.submit(run_job, task)))
    _wait(path, todo, submitted, progress=progress, console=console, poll_s=float(options.get("poll_s", 2.0)))
    failed = []
    for s in submitted:
        try:
            s.job.result()
        except Exception as err:  # a job's failure is reported, never raised raw
            left = [n for n in s.task.region_names() if not store.is_done(path, *n.split("/"))]
            failed.append((s, left, err))
    if failed:
        lines = [
            f"- job {s.name} (submitit id {s.job.job_id}): {type(err).__name__}; unfinished regions {left}; "
            f"log {s.job.paths.stderr}"
            for s, left, err in failed
        ]
        raise JobsFailedError(
            f"{len(failed)} of {len(submitted)} job(s) failed; the store {str(root)!r} is incomplete:\n"
            + "\n".join(lines)
            + "\nFinished regions are kept: run the same command with --resume (and --break-lock if a "
            "killed job left a lock) to train only the unfinished regions."
        )
    return submitted


def _wait(path, todo, submitted, *, progress: bool, console, poll_s: float) -> None:
    """Poll the done markers until every job has ended, showing regions done across jobs."""
    bar = task = None
    if progress:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("regions"),
                       TimeElapsedColumn(), TextColumn("{task.fields[jobs]}"), console=console)
        bar.start()
        task = bar.add_task(f"{len(submitted)} job(s)", total=len(todo), jobs="")
    try:
        while True:
            running = [s for s in submitted if not s.job.done()]
            if bar is not None:
                done = sum(store.is_done(path, g.name, store.region_name(r)) for g, r in todo)
                bar.update(task, completed=done, jobs=f"{len(running)} running, {len(submitted) - len(running)} ended")
            if not running:
                break
            time.sleep(poll_s)
    finally:
        if bar is not None:
            bar.stop()


def statuses_from_jobs(path, plan) -> dict:
    """Statuses that jobs reported for members whose regions carry a done marker."""
    done = {}
    for g in plan.groups:
        for region_name, marker in store.done_regions(path, g.name).items():
            start, stop = marker["members"]
            for idx in g.members[start:stop]:
                done[idx] = True
    statuses = {}
    for report in read_side_files(path):
        for idx, status in report.get("statuses", {}).items():
            if done.get(int(idx)):
                statuses[int(idx)] = status
    return statuses
