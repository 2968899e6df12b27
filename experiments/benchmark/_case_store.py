"""Store throughput and the share of a sweep's wall time spent in store I/O.

MB/s: trajectories `[member, trial, time, state]` (float32, Gaussian noise, which
compresses worst) written to a group with one `write_region` call and read back whole
with `read_group(...).values`. Reading follows writing, so it is served from the page
cache: it measures zarr's decoding, not the disk.

Share: a small sweep (`run_sweep`) is timed whole, while every call into
`neurodyn.store` that the sweep makes (creating the store, members table, region writes,
checkpoints, done markers, entering and leaving locks) is timed by a wrapper installed on
the module for the duration (the library is not modified).
"""

import contextlib
import functools
import io
import os
import shutil
import statistics
import time

import numpy as np

# Functions of `neurodyn.store` that compute names only (no I/O).
_NOT_IO = {"region_name", "fill_value"}


class _Clock:
    def __init__(self):
        self.seconds = 0.0
        self.calls: dict[str, int] = {}
        self.by_name: dict[str, float] = {}

    def add(self, name: str, seconds: float) -> None:
        self.seconds += seconds
        self.calls[name] = self.calls.get(name, 0) + 1
        self.by_name[name] = self.by_name.get(name, 0.0) + seconds


class _TimedContext:
    """Times entering and leaving a context manager (a lock), not its body."""

    def __init__(self, cm, clock: _Clock, name: str):
        self.cm, self.clock, self.name = cm, clock, name

    def __enter__(self):
        start = time.perf_counter()
        try:
            return self.cm.__enter__()
        finally:
            self.clock.add(self.name + ".enter", time.perf_counter() - start)

    def __exit__(self, *exc):
        start = time.perf_counter()
        try:
            return self.cm.__exit__(*exc)
        finally:
            self.clock.add(self.name + ".exit", time.perf_counter() - start)


@contextlib.contextmanager
def timed_store(clock: _Clock):
    """Wrap every I/O function of `neurodyn.store` with a timer, restore them after."""
    import inspect

    from neurodyn import store

    saved = {}
    for name, fn in vars(store).items():
        if name.startswith("_") or name in _NOT_IO or not inspect.isfunction(fn):
            continue

        @functools.wraps(fn)
        def wrapper(*args, __fn=fn, __name=name, **kwargs):
            start = time.perf_counter()
            out = __fn(*args, **kwargs)
            clock.add(__name, time.perf_counter() - start)
            if hasattr(out, "__enter__") and hasattr(out, "__exit__"):
                return _TimedContext(out, clock, __name)
            return out

        saved[name] = fn
        setattr(store, name, wrapper)
    try:
        yield clock
    finally:
        for name, fn in saved.items():
            setattr(store, name, fn)


def _trajectory_store(path, shape):
    import dask.array as da
    import xarray as xr

    from neurodyn import store

    dims = ("member", "trial", "time", "state")
    template = xr.Dataset(
        {"states": (dims, da.zeros(shape, dtype=np.float32, chunks=(1, *shape[1:])))},
        coords={"member": np.arange(shape[0])},
    )
    members = xr.Dataset({"group": ("member", np.array(["g0"] * shape[0]))}, coords={"member": np.arange(shape[0])})
    store.create_store(path, attrs={"spec": {}, "seeds": [], "git_revision": None}, members=members, groups={"g0": template}, overwrite=True)


def _disk_bytes(path) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)


def trajectory_rates(settings: dict, repeats: int, workdir) -> dict:
    import xarray as xr

    from neurodyn import store

    shape = (settings["members"], settings["trials"], settings["n_time"], settings["hidden"])
    data = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
    path = os.path.join(workdir, "trajectories.zarr")
    _trajectory_store(path, shape)
    ds = xr.Dataset({"states": (("member", "trial", "time", "state"), data)})
    region = slice(0, shape[0])

    def write():
        store.write_region(path, "g0", region, ds)

    def read():
        if store.read_group(path, "g0")["states"].values.shape != shape:
            raise RuntimeError("trajectories read back with the wrong shape")

    from _results import repeat

    write_s = repeat(write, repeats)
    read_s = repeat(read, repeats)
    if not np.array_equal(store.read_group(path, "g0")["states"].values, data):
        raise RuntimeError("store round trip changed the trajectories")
    mb = data.nbytes / 1e6
    on_disk = _disk_bytes(path) / 1e6
    shutil.rmtree(path, ignore_errors=True)
    return {"mb": mb, "on_disk_mb": on_disk, "write_s": write_s, "read_s": read_s, "shape": list(shape)}


def sweep_spec(settings: dict) -> dict:
    n_steps = settings["n_steps"]
    return {
        "task": {"name": "flipflop", "n_bits": 3, "n_time": settings["n_time"], "p": 0.05, "pulse_width": 1},
        "model": {"name": "ctrnn", "hidden_size": settings["hidden"], "tau": 1.0, "dt": 0.1},
        "train": {
            "learning_rate": 1e-3,
            "n_steps": n_steps,
            "eval_every": max(1, n_steps // 4),
            "batch_size": settings.get("batch", 64),
            "eval_batch_size": settings.get("batch", 64),
            "epochs_per_call": 2,
        },
        "sweep": {"seeds": settings["seeds"], "trajectories": settings["trials"]},
    }


def sweep_share(settings: dict, repeats: int, workdir) -> dict:
    from rich.console import Console

    from neurodyn.sweep import run_sweep

    spec = sweep_spec(settings)
    walls, ios, calls, by_name = [], [], {}, {}
    for r in range(repeats):
        path = os.path.join(workdir, f"sweep{r}.zarr")
        clock = _Clock()
        with timed_store(clock):
            start = time.perf_counter()
            run_sweep(spec, path, progress=False, console=Console(file=io.StringIO()))
            walls.append(time.perf_counter() - start)
        ios.append(clock.seconds)
        calls = clock.calls
        by_name = {k: by_name.get(k, []) + [v] for k, v in clock.by_name.items()}
        shutil.rmtree(path, ignore_errors=True)
    seconds = {k: round(statistics.median(v), 3) for k, v in sorted(by_name.items(), key=lambda kv: -statistics.median(kv[1]))}
    return {"spec": spec, "wall_s": walls, "io_s": ios, "calls": calls, "seconds": seconds}


def run(results, settings: dict, repeats: int, workdir) -> None:
    traj = trajectory_rates(settings, repeats, workdir)
    params = {"shape": traj["shape"], "mb": round(traj["mb"], 2), "on_disk_mb": round(traj["on_disk_mb"], 2)}
    results.add("store/write_trajectories", "MB/s", [traj["mb"] / t for t in traj["write_s"]], **params)
    results.add("store/read_trajectories", "MB/s", [traj["mb"] / t for t in traj["read_s"]], **params)
    share = sweep_share(settings, repeats, workdir)
    spec = share["spec"]
    what = {
        "members": spec["sweep"]["seeds"],
        "hidden": spec["model"]["hidden_size"],
        "n_steps": spec["train"]["n_steps"],
        "store_calls": share["calls"],
        "store_seconds_median": share["seconds"],
    }
    results.add("store/sweep_wall", "s", share["wall_s"], higher_is_better=False, **what)
    results.add("store/sweep_io", "s", share["io_s"], higher_is_better=False, **what)
    results.add(
        "store/sweep_io_share",
        "fraction of wall time",
        [i / w for i, w in zip(share["io_s"], share["wall_s"])],
        higher_is_better=False,
        **what,
    )
    results.ratios["store I/O share of sweep wall time"] = {
        "value": results.figures["store/sweep_io_share"].median,
        "numerator": "store/sweep_io",
        "denominator": "store/sweep_wall",
        "what": "median over repeats of (time inside neurodyn.store calls / run_sweep wall time), compile included",
    }
