"""neurodyn's benchmark harness: neurodyn against PyTorch and against the machine.

    python experiments/benchmark/run.py                  # every case (make bench)
    python experiments/benchmark/run.py --smoke --out /tmp/b   # tiny sizes, 1 repeat
    python experiments/benchmark/run.py --only throughput --only roofline

Writes results.json and results.md to --out (default: this folder). Cases: compile,
roofline, throughput, fixed_points, store, memory, parallel, pairs (see README.md). PyTorch cases are
skipped, with a note, when torch (or, for `pairs`, dsa-metric) is not installed (`pip install -e ".[bench]"`).
"""

import argparse
import datetime
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

# OpenMP threads that spin while waiting collapse when a machine is oversubscribed
# (measured on a shared 2-core host: torch's leaky loop ran 0.2 steps/s with the default
# policy, 5 with PASSIVE). It must be set before torch loads; an explicit setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# The same for OpenBLAS, which numpy, scipy and jaxlib's LAPACK kernels (eig, solve) call:
# a 128x128 eig took 0.42 s with its default threads on that host and 0.025 s with one.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

CASES = ("compile", "roofline", "throughput", "fixed_points", "store", "memory", "parallel", "pairs")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--smoke", action="store_true", help="tiny sizes and one repeat: checks the harness runs")
    p.add_argument("--only", action="append", default=[], metavar="CASE",
                   help=f"run only this case (repeatable or comma-separated): {', '.join(CASES)}")
    p.add_argument("--out", default=HERE, help="folder for results.json and results.md")
    p.add_argument("--repeats", type=int, default=None, help="timed repeats per figure (default 3; 1 with --smoke)")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch references")
    p.add_argument("--compile-cache", metavar="DIR", default=None,
                   help="use JAX's persistent compilation cache in DIR (compile times then measure "
                   "cache hits); default: none, or the repository's .jax_cache with --smoke")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--payload", help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    only = [c.strip() for item in args.only for c in item.split(",") if c.strip()]
    unknown = [c for c in only if c not in CASES]
    if unknown:
        p.error(f"unknown case(s) {unknown}; choose from {list(CASES)}")
    args.only = only or list(CASES)
    if args.compile_cache is None and args.smoke:
        args.compile_cache = os.path.join(os.path.dirname(os.path.dirname(HERE)), ".jax_cache")
    if args.repeats is None:
        args.repeats = 1 if args.smoke else 3
    if args.repeats < 1:
        p.error("--repeats must be >= 1")
    return args


def run_worker(args) -> int:
    with open(args.payload) as f:
        payload = json.load(f)
    if args.worker == "memory":
        import _case_memory as case
    elif args.worker == "fixed_points":
        import _case_fixed_points as case
    elif args.worker == "parallel":
        import _case_parallel as case
    elif args.worker == "pairs":
        import _case_pairs as case
    else:
        raise SystemExit(f"unknown worker {args.worker!r}")
    out = case.worker(**payload)
    with open(args.result, "w") as f:
        json.dump(out, f)
    return 0


class Spawner:
    """Runs a case's worker in a fresh process and returns its JSON result."""

    def __init__(self, workdir: str, cache: str | None = None):
        self.workdir = workdir
        self.count = 0
        # Shared by the workers (unless --compile-cache names one for everything), so each
        # does not recompile the same small operations; the parent's compile-time case
        # never reads it.
        self.cache = cache or os.path.join(workdir, "jax_cache")

    def __call__(self, name: str, payload: dict, *, x64: bool = False) -> dict:
        self.count += 1
        stem = os.path.join(self.workdir, f"{name}{self.count}")
        with open(stem + ".in.json", "w") as f:
            json.dump(payload, f)
        env = dict(os.environ)
        env.update(
            JAX_COMPILATION_CACHE_DIR=self.cache,
            JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
        )
        if x64:
            env["JAX_ENABLE_X64"] = "1"
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", name,
               "--payload", stem + ".in.json", "--result", stem + ".out.json"]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"worker {name} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
        with open(stem + ".out.json") as f:
            return json.load(f)


def _torch(no_torch: bool, threads: int):
    if no_torch:
        return None, "--no-torch given"
    try:
        import torch
    except ImportError:
        return None, "torch is not installed (pip install -e '.[bench]')"
    torch.set_num_threads(threads)
    import _torch_refs

    return _torch_refs, None


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.worker:
        return run_worker(args)

    import jax

    import neurodyn

    # As `neurodyn sweep` does: on a CPU-only machine every core is a JAX device and a
    # group's members are split over them.
    neurodyn.use_cpu_cores()
    if args.compile_cache:
        jax.config.update("jax_compilation_cache_dir", args.compile_cache)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)

    from _case_train import run_compile, run_roofline, run_throughput
    from _machine import load_average, machine_info, n_cores, sizes, versions
    from _neurodyn_train import Programs
    from _report import render
    from _results import Results

    started = time.time()
    machine = machine_info()
    sz = {**sizes(machine["backend"], args.smoke), "backend": machine["backend"]}
    torch_refs, why_no_torch = _torch(args.no_torch, n_cores())
    if torch_refs is not None:
        import torch

        machine["torch_threads"] = torch.get_num_threads()
    results = Results()
    if why_no_torch:
        results.notes.append(f"PyTorch references skipped: {why_no_torch}.")
    if machine["load_average_start"] and machine["load_average_start"][0] > machine["cores"]:
        results.notes.append(
            f"The machine was shared: load average {machine['load_average_start'][0]} on "
            f"{machine['cores']} cores at the start; absolute numbers are noisy, and repeats "
            "are interleaved across methods so that ratios are less so."
        )
    programs = Programs(sz["batch"], sz["n_time"], sz["steps_per_call"])
    workdir = tempfile.mkdtemp(prefix="neurodyn-bench-")
    spawn = Spawner(workdir, args.compile_cache)
    if args.compile_cache:
        results.notes.append(
            f"JAX's persistent compilation cache was on ({args.compile_cache}): compile times "
            "are cache hits, not compilations."
        )
    failed = []
    try:
        for case in CASES:
            if case not in args.only:
                continue
            print(f"[bench] {case} ...", flush=True)
            start = time.perf_counter()
            try:
                if case == "compile":
                    run_compile(results, programs, sz, args.repeats)
                elif case == "roofline":
                    run_roofline(results, programs, sz, args.repeats, "throughput" in args.only)
                elif case == "throughput":
                    run_throughput(results, programs, sz, args.repeats, torch_refs)
                elif case == "fixed_points":
                    try:
                        from neurodyn.analysis import find_fixed_points  # noqa: F401
                    except ImportError as e:
                        results.skipped[case] = f"neurodyn.analysis.find_fixed_points is not available ({e})"
                        continue
                    import _case_fixed_points

                    _case_fixed_points.run(results, programs, sz["fp"], args.repeats, workdir, spawn)
                elif case == "store":
                    import _case_store

                    _case_store.run(results, {**sz["store"], "batch": sz["batch"]}, args.repeats, workdir)
                elif case == "memory":
                    import _case_memory

                    _case_memory.run(results, sz["memory"], args.repeats, spawn)
                elif case == "parallel":
                    import _case_parallel

                    _case_parallel.run(results, sz["parallel"], args.repeats, spawn)
                elif case == "pairs":
                    import _case_pairs

                    _case_pairs.run(results, sz["pairs"], args.repeats, spawn)
            except Exception as e:  # record it, run the other cases, fail at the end
                traceback.print_exc()
                results.skipped[case] = f"error: {type(e).__name__}: {e}"[:2000]
                failed.append(case)
            results.case_seconds[case] = time.perf_counter() - start
            print(f"[bench] {case} done in {results.case_seconds[case]:.0f} s", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    machine["load_average_end"] = load_average()
    command = "python experiments/benchmark/run.py" + ("" if argv is None and len(sys.argv) == 1 else " " + shlex.join(sys.argv[1:] if argv is None else argv))
    doc = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": command,
        "machine": machine,
        "versions": versions(),
        "settings": {
            "smoke": args.smoke,
            "repeats": args.repeats,
            "compile_cache": args.compile_cache,
            "cases": args.only,
            "sizes": {k: (list(map(list, v)) if k == "grid" else v) for k, v in sz.items()},
            "jax_devices": [str(d) for d in jax.devices()],
        },
        "settings_line": f"repeats {args.repeats}, cases {', '.join(args.only)}{', smoke sizes' if args.smoke else ''}",
        "wall_s": time.time() - started,
        **results.as_dict(),
    }
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(doc, f, indent=1, default=str)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(render(doc, command))
    print(f"[bench] wrote {args.out}/results.json and results.md in {doc['wall_s']:.0f} s", flush=True)
    if failed:
        print(f"[bench] failed cases: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
