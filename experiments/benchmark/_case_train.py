"""The training cases: compile time against K, the matmul roofline, sweep throughput."""

import math

from _neurodyn_train import GroupRun, Programs, SequentialRun, compile_program
from _results import Results, interleaved
from _roofline import chain_rate, matmul_rate, step_flops

RATE = "network-steps/s"
CHAIN_LAYOUTS = {"vmap": "vmap", "map": "lax.map", "sweep": "lax.map on each device (the sweep layout)"}
METHODS = {
    "neurodyn_group": "neurodyn, K members in one compiled program, as a sweep runs them (on a CPU: "
    "members split over one device per core, one after another on each)",
    "neurodyn_group_vmap": "neurodyn, K members vmapped on one device (batched matmuls; the "
    "accelerator layout, and the CPU layout before member mapping)",
    "neurodyn_sequential": "neurodyn, one network after another",
    "torch_leaky_loop": "PyTorch hand-written leaky loop, one after another",
    "torch_nn_rnn": "PyTorch torch.nn.RNN, one after another",
    "torch_stacked": "PyTorch, K networks stacked (torch.bmm), trained together",
}


def run_compile(results: Results, programs: Programs, sz: dict, repeats: int) -> None:
    """(c) Trace and compile time of one group's training call, for each K."""
    hidden = sz["compile_hidden"]
    ks = sz["compile_K"]
    # Build every state first: clearing the caches below also drops the small compiled
    # operations that building states uses.
    stacked = {k: programs.group_state(hidden, k) for k in ks}
    programs.single(hidden)  # warm-up: the process's first compilation
    for k in ks:
        traces, compiles, program = [], [], None
        for _ in range(repeats):
            state, mesh = stacked[k]
            program = compile_program(programs.trainer, state, vmapped=True, fresh=True, mesh=mesh)
            traces.append(program.trace_s)
            compiles.append(program.compile_s)
        programs.group(hidden, k, program)
        params = {"hidden": hidden, "K": k, "steps_per_call": programs.steps_per_call}
        results.add(f"compile/H{hidden}/K{k}/trace", "s", traces, higher_is_better=False, **params)
        results.add(f"compile/H{hidden}/K{k}/compile", "s", compiles, higher_is_better=False, **params)
        results.add(
            f"compile/H{hidden}/K{k}/total", "s", [a + b for a, b in zip(traces, compiles)],
            higher_is_better=False, **params,
        )
    results.ratio(
        f"compile time K={ks[-1]} / K={ks[0]}",
        f"compile/H{hidden}/K{ks[-1]}/total",
        f"compile/H{hidden}/K{ks[0]}/total",
        "trace + compile of one group's training call; should stay near 1",
    )


def run_roofline(results: Results, programs: Programs, sz: dict, repeats: int, throughput_follows: bool = False) -> None:
    """(b) The dense-matmul rate and the recurrence's matmul-chain rates; the fractions
    themselves are computed by the throughput case (run here at the roofline size when
    that case is not selected)."""
    n = sz["matmul_n"]
    results.add("roofline/matmul_peak", "FLOP/s", matmul_rate(n, max(repeats, 5)), n=n, dtype="float32")
    batch, n_time = programs.batch, programs.n_time
    for hidden in sorted({h for h, _ in sz["grid"]}):
        k_max = max(k for h, k in sz["grid"] if h == hidden)
        for k, mode in sorted({(1, "vmap"), (k_max, "vmap"), (k_max, "map"), (k_max, "sweep")}):
            results.add(
                f"roofline/chain/H{hidden}/K{k}/{mode}",
                "FLOP/s",
                chain_rate(hidden, batch, n_time, k, repeats, mode),
                hidden=hidden, K=k, batch=batch, n_time=n_time,
                what=f"T sequential steps of h <- tanh(h W); K networks by {CHAIN_LAYOUTS[mode]}",
            )
    target = tuple(sz["roofline"])
    if not throughput_follows:
        run_throughput(results, programs, sz, repeats, torch_refs=None, only=[target])


def _roofline_fractions(results: Results, hidden: int, k: int, batch: int, n_time: int) -> None:
    peak = results.figures.get("roofline/matmul_peak")
    if peak is None:
        return
    flops = step_flops(hidden, batch, n_time)
    for method in METHODS:
        fig = results.figures.get(f"throughput/H{hidden}/K{k}/{method}")
        if fig is not None:
            results.add(
                f"roofline/H{hidden}/K{k}/{method}",
                "fraction of matmul peak",
                [r * flops / peak.median for r in fig.values],
                flops_per_network_step=flops,
            )


def run_throughput(results: Results, programs: Programs, sz: dict, repeats: int, torch_refs, only=None) -> None:
    """(a) Network-training-steps per second for each method, at each (H, K)."""
    batch, n_time, per_call = programs.batch, programs.n_time, programs.steps_per_call
    device = None
    if torch_refs is not None:
        import torch

        device = "cuda" if torch.cuda.is_available() and sz.get("backend") != "cpu" else "cpu"
    for hidden, k in only or sz["grid"]:
        calls = max(1, math.ceil(sz["net_steps"][hidden] / (k * per_call)))
        steps = calls * per_call  # training steps per network per repeat
        n_seq = min(k, sz["seq_cap"])
        runs = {
            "neurodyn_group": (GroupRun(programs, hidden, k, calls), k),
            "neurodyn_group_vmap": (GroupRun(programs, hidden, k, calls, layout="vmap"), k),
            "neurodyn_sequential": (SequentialRun(programs, hidden, n_seq, calls), n_seq),
        }
        if torch_refs is not None and not only:
            runs["torch_leaky_loop"] = (torch_refs.leaky_loop(hidden, n_seq, batch, n_time, steps, device), n_seq)
            runs["torch_nn_rnn"] = (torch_refs.torch_rnn(hidden, n_seq, batch, n_time, steps, device), n_seq)
            runs["torch_stacked"] = (torch_refs.Stacked(hidden, k, batch, n_time, steps, device), k)
        for fn, _ in runs.values():  # warm-up: one untimed step (one call) each
            fn.warmup()
        times = interleaved({name: fn for name, (fn, _) in runs.items()}, repeats)
        for name, (fn, n_networks) in runs.items():
            work = n_networks * steps
            results.add(
                f"throughput/H{hidden}/K{k}/{name}",
                RATE,
                [work / t for t in times[name]],
                hidden=hidden, K=k, networks_timed=n_networks, steps_per_network=steps,
                batch=batch, n_time=n_time, final_loss=round(fn.final_loss(), 4),
            )
        for name in runs:
            if name != "neurodyn_group":
                results.ratio(
                    f"throughput H={hidden} K={k}: neurodyn_group / {name}",
                    f"throughput/H{hidden}/K{k}/neurodyn_group",
                    f"throughput/H{hidden}/K{k}/{name}",
                    "network-steps/s, same run",
                )
        _roofline_fractions(results, hidden, k, batch, n_time)
    target = tuple(sz["roofline"])
    name = f"roofline/H{target[0]}/K{target[1]}/neurodyn_group"
    if name in results.figures:
        results.ratios[f"roofline fraction H={target[0]} K={target[1]} (neurodyn_group)"] = {
            "value": results.figures[name].median,
            "numerator": f"throughput/H{target[0]}/K{target[1]}/neurodyn_group",
            "denominator": "roofline/matmul_peak",
            "what": "analytic matmul FLOPs per network-step x network-steps/s / large-jnp.dot FLOP/s",
        }
