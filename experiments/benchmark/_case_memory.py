"""Peak memory of one group's training against trial length T, with and without
memory-light backpropagation through time (`TrainConfig.bptt_chunk`).

Each point runs in its own process: build a group of K members, compile its training
call, reset the kernel's peak-RSS mark (`/proc/self/clear_refs`), run the call, read
`VmHWM`. Growth is the peak minus the RSS just before the first call. The `checkpointed`
variant sets `bptt_chunk` to the largest divisor of T not above ⌈√T⌉: the backward pass
keeps one state per chunk and recomputes a chunk's steps when it gets there.
"""

import gc
import math
import time

import jax
import jax.numpy as jnp


def chunk_for(n_time: int) -> int:
    """The largest divisor of T not above ⌈√T⌉."""
    top = math.ceil(math.sqrt(n_time))
    return max(d for d in range(1, top + 1) if n_time % d == 0)


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _device_peak_mb() -> float | None:
    stats = jax.devices()[0].memory_stats() or {}
    peak = stats.get("peak_bytes_in_use")
    return None if peak is None else peak / 1e6


def worker(settings: dict, repeats: int) -> dict:
    """One (variant, T) point, in a fresh process."""
    import dataclasses

    from _neurodyn_train import (
        compile_program,
        make_config,
        make_task,
        member_states,
        stack,
    )

    from neurodyn.train import Trainer

    n_time, variant = settings["n_time"], settings["variant"]
    task = make_task(n_time)
    chunk = chunk_for(n_time)
    config = make_config(settings["batch"], 1)
    if variant == "checkpointed":
        config = dataclasses.replace(config, bptt_chunk=chunk)
    trainer = Trainer(config)
    states = stack(member_states(trainer, config, task, settings["hidden"], range(settings["K"]), seed=0))
    program = compile_program(trainer, states, vmapped=True)  # one device, as measured before
    gc.collect()
    before_kb = _status_kb("VmRSS")
    peaks, times, reset = [], [], True
    for _ in range(repeats):
        reset = _reset_peak() and reset
        start = time.perf_counter()
        states, logs = program(states)
        jax.block_until_ready((states, logs))
        times.append(time.perf_counter() - start)
        peaks.append(_status_kb("VmHWM"))
    if not reset or None in peaks or before_kb is None:
        import resource

        peaks = [resource.getrusage(resource.RUSAGE_SELF).ru_maxrss] * repeats
    return {
        "rss_before_mb": before_kb / 1024 if before_kb else None,
        "peak_mb": [p / 1024 for p in peaks],
        "step_s": times,
        "compile_s": program.compile_s,
        "peak_reset": reset,
        "chunk": chunk if variant == "checkpointed" else None,
        "device_peak_mb": _device_peak_mb(),
        "loss": float(jnp.mean(logs.loss)),
    }


def run(results, settings: dict, repeats: int, spawn) -> None:
    lengths = settings["n_time"]
    for variant in ("library", "checkpointed"):
        for n_time in lengths:
            point = {**settings, "n_time": n_time, "variant": variant}
            out = spawn("memory", {"settings": point, "repeats": repeats})
            base = out["rss_before_mb"]
            params = {
                "K": settings["K"],
                "hidden": settings["hidden"],
                "batch": settings["batch"],
                "chunk": out["chunk"],
                "rss_before_mb": round(base, 1),
                "peak_reset": out["peak_reset"],
                "compile_s": round(out["compile_s"], 2),
            }
            if out["device_peak_mb"] is not None:
                params["device_peak_mb"] = round(out["device_peak_mb"], 1)
            results.add(f"memory/{variant}/T{n_time}/peak_rss", "MB", out["peak_mb"], higher_is_better=False, **params)
            results.add(
                f"memory/{variant}/T{n_time}/growth", "MB", [p - base for p in out["peak_mb"]], higher_is_better=False, **params
            )
            results.add(f"memory/{variant}/T{n_time}/step_time", "s", out["step_s"], higher_is_better=False, **params)
    last = lengths[-1]
    for variant in ("library", "checkpointed") if len(lengths) > 1 else ():
        prev = lengths[-2]
        # Exponent of peak growth in T between the two longest trials (1 = linear).
        g_prev = results.figures[f"memory/{variant}/T{prev}/growth"].median
        g_last = results.figures[f"memory/{variant}/T{last}/growth"].median
        value = math.log(g_last / g_prev) / math.log(last / prev) if g_prev > 0 and g_last > 0 else float("nan")
        results.ratios[f"memory growth exponent in T, {prev} -> {last} ({variant})"] = {
            "value": value,
            "numerator": f"memory/{variant}/T{last}/growth",
            "denominator": f"memory/{variant}/T{prev}/growth",
            "what": "log(growth ratio) / log(T ratio): 1 is linear in T, 0.5 is sqrt(T)",
        }
    results.ratio(
        f"peak memory growth library / checkpointed at T={last}",
        f"memory/library/T{last}/growth",
        f"memory/checkpointed/T{last}/growth",
        "how much less memory checkpointing needs",
    )
    results.ratio(
        f"step time checkpointed / library at T={last}",
        f"memory/checkpointed/T{last}/step_time",
        f"memory/library/T{last}/step_time",
        "the recomputation's cost",
    )
