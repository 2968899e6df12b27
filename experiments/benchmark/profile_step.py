"""Where one compiled training step spends its time, by phase and kind of operation.

    python experiments/benchmark/profile_step.py [--hidden 256] [--members K] [--steps 5] [--out DIR]

Compiles the benchmark's single-network training call (CTRNN on the 3-bit flip-flop,
batch 64, T = 100, Adam: the `neurodyn_sequential` program of `make bench`), or with
`--members K` the group program of K members as a sweep runs it (`neurodyn_group`: on a
CPU one device per core, members one after another on each), times it, then records
`--steps` calls under `jax.profiler.trace` and sums the duration of every XLA operation
of the compiled program. Each operation is classed by its metadata: phase (forward = `jvp(...)`, backward = `transpose(jvp(...))`, the rest = optimiser, held-out
evaluation, bookkeeping) and kind (matmul: a `dot` or a library-backed matmul fusion;
slice/copy: dynamic slices, updates, copies, bitcasts; elementwise/other). Prints the
table and the ten most expensive operations; writes the trace and the HLO text to DIR.
"""

import argparse
import collections
import glob
import gzip
import json
import pathlib
import re
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def classify(hlo: str) -> dict[str, tuple[str, str]]:
    """Operation name -> (phase, kind), from the compiled program's text."""
    out = {}
    for m in re.finditer(r"^\s+(?:ROOT )?%?([\w.\-]+) = ([^\n]*)$", hlo, flags=re.M):
        name, rest = m.group(1), m.group(2)
        op = re.search(r'op_name="([^"]*)"', rest)
        op = op.group(1) if op else ""
        if " dot(" in rest or name.startswith(("ynn_fusion", "dot_general")):
            kind = "matmul"
        elif re.search(r"slice|copy|bitcast|concatenate", name):
            kind = "slice/copy"
        else:
            kind = "elementwise/other"
        phase = "backward" if "transpose(" in op else "forward" if "jvp(" in op else "optimiser/eval/other"
        out[name] = (phase, kind)
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--members", type=int, default=None, help="profile the group program of K members")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--out", type=pathlib.Path, default=None)
    args = parser.parse_args(argv)
    import jax

    import neurodyn

    if args.members is not None:
        neurodyn.use_cpu_cores()  # as a sweep does: one device per core
    from _neurodyn_train import Programs
    from _roofline import step_flops

    from neurodyn.train._members import devices_for

    out = args.out or pathlib.Path(tempfile.mkdtemp(prefix="neurodyn-profile-"))
    out.mkdir(parents=True, exist_ok=True)
    programs = Programs(64, 100, 1)
    if args.members is None:
        program, networks = programs.single(args.hidden), 1
        state = programs.states(args.hidden, 1)[0]
    else:
        program, networks = programs.group(args.hidden, args.members), args.members
        state, _ = programs.group_state(args.hidden, args.members)
    for _ in range(3):
        state, _ = program(state)
    jax.block_until_ready(state)
    start = time.perf_counter()
    for _ in range(10):
        state, _ = program(state)
    jax.block_until_ready(state)
    step = (time.perf_counter() - start) / 10 / networks  # per network-step
    rate = step_flops(args.hidden, 64, 100) / step
    who = "" if args.members is None else f", K = {networks} members"
    print(f"H = {args.hidden}{who}: {step * 1e3:.1f} ms per network training step, matmul FLOPs at {rate / 1e9:.1f} GFLOP/s")
    with jax.profiler.trace(str(out / "trace"), create_perfetto_trace=True):
        for _ in range(args.steps):
            state, _ = program(state)
        jax.block_until_ready(state)
    hlo = program.compiled.compiled.as_text()
    (out / "step.hlo.txt").write_text(hlo)
    ops = classify(hlo)
    trace = glob.glob(str(out / "trace" / "**" / "*.trace.json.gz"), recursive=True)[0]
    events = json.load(gzip.open(trace))["traceEvents"]
    # The profiler keeps a bounded number of events, so a long trace may hold fewer
    # calls than were made: divide by the calls it holds (one execution per device each).
    executions = sum(1 for e in events if e.get("ph") == "X" and e.get("name", "").startswith("ThunkExecutor::Execute (wait"))
    devices = 1 if args.members is None else len(devices_for(args.members, jax.devices()))
    calls = executions / devices or args.steps
    if calls != args.steps:
        print(f"(the trace holds {calls:g} of the {args.steps} calls made)")
    by_class, by_op = collections.Counter(), collections.Counter()
    for e in events:
        # loops are containers of the operations below them: count only the leaves
        if e.get("ph") == "X" and e.get("name") in ops and not e["name"].startswith(("while", "call", "conditional")):
            ms = e["dur"] / calls / networks / 1e3
            by_class[ops[e["name"]]] += ms
            by_op[e["name"]] += ms
    total = sum(by_class.values())
    print(f"\nOperation time per network step: {total:.1f} ms (both cores' operations summed)\n")
    print("| phase | kind | ms per step | share |\n|---|---|---|---|")
    for (phase, kind), ms in by_class.most_common():
        print(f"| {phase} | {kind} | {ms:.2f} | {ms / total:.1%} |")
    print("\nMost expensive operations (ms per step):")
    for name, ms in by_op.most_common(10):
        print(f"  {ms:7.2f}  {name}  ({', '.join(ops[name])})")
    print(f"\nTrace and HLO in {out}")


if __name__ == "__main__":
    main()
