"""Peak memory of one group's training against trial length T, with and without
checkpointed backpropagation through time.

Each point runs in its own process: build a group of K members, compile its training
call, reset the kernel's peak-RSS mark (`/proc/self/clear_refs`), run the call, read
`VmHWM`. Growth is the peak minus the RSS just before the first call.

neurodyn's training has no checkpointing option yet, so the checkpointed variant is
built here: `ChunkCheckpointed` wraps a CTRNN and runs its trial as a scan over chunks of
`chunk` steps, each chunk under `jax.checkpoint`. The backward pass then keeps one state
per chunk and recomputes a chunk's states when it gets there: with chunk ≈ √T the saved
memory grows as √T instead of T, for about one extra forward pass of compute. The
wrapper reads out inside the chunk, so the trajectory of states is never stored whole.
Training goes through the library's `Trainer` and `run_chunk_vmapped` in both variants.
"""

import gc
import math
import time

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from neurodyn import Trajectory
from neurodyn.models import CTRNN, AbstractContinuousRNN


class ChunkCheckpointed(AbstractContinuousRNN):
    """A CTRNN whose forward pass is rematerialised chunk by chunk in the backward pass."""

    inner: CTRNN
    chunk: int = eqx.field(static=True)

    @property
    def input_size(self) -> int:
        return self.inner.input_size

    @property
    def hidden_size(self) -> int:
        return self.inner.hidden_size

    @property
    def output_size(self) -> int:
        return self.inner.output_size

    @property
    def dt(self) -> float:
        return self.inner.dt

    @property
    def solver(self) -> str:
        return self.inner.solver

    def vector_field(self, t, state, u):
        return self.inner.vector_field(t, state, u)

    def readout(self, state):
        return self.inner.readout(state)

    def initial_state(self):
        return self.inner.initial_state()

    def constrain(self) -> "ChunkCheckpointed":
        return eqx.tree_at(lambda m: m.inner, self, self.inner.constrain())

    def trainable(self):
        spec = jax.tree_util.tree_map(lambda _: False, self)
        return eqx.tree_at(lambda m: m.inner, spec, self.inner.trainable())

    def __call__(self, inputs: Float[Array, "time input"], *, key=None, state0=None) -> Trajectory:
        if key is not None:
            raise ValueError("ChunkCheckpointed is noise-free: call it without a key.")
        n_time = inputs.shape[0]
        if n_time % self.chunk:
            raise ValueError(f"chunk={self.chunk} must divide the trial length {n_time}.")
        h0 = self.inner.initial_state() if state0 is None else state0

        @jax.checkpoint
        def run_chunk(h, u_chunk):
            def body(h, u):
                h = self.inner.step(h, u)
                return h, self.inner.readout(h)

            return jax.lax.scan(body, h, u_chunk)

        chunks = inputs.reshape(n_time // self.chunk, self.chunk, inputs.shape[-1])
        _, outputs = jax.lax.scan(run_chunk, h0, chunks)
        return Trajectory(
            state=jnp.zeros((n_time, 0), inputs.dtype), output=outputs.reshape(n_time, -1)
        )


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
    from _neurodyn_train import (
        compile_program,
        make_config,
        make_model,
        make_task,
        member_states,
        stack,
    )

    from neurodyn.train import Trainer

    n_time, variant = settings["n_time"], settings["variant"]
    task = make_task(n_time)
    config = make_config(settings["batch"], 1)
    trainer = Trainer(config)
    chunk = chunk_for(n_time)
    model_fn = make_model
    if variant == "checkpointed":
        model_fn = lambda hidden, key: ChunkCheckpointed(make_model(hidden, key=key), chunk)
    states = stack(
        member_states(trainer, config, task, settings["hidden"], range(settings["K"]), seed=0, model_fn=model_fn)
    )
    program = compile_program(trainer, states, vmapped=True)
    gc.collect()
    before_kb = _status_kb("VmRSS")
    peaks, times, reset = [], [], True
    for _ in range(repeats):
        reset = _reset_peak() and reset
        start = time.perf_counter()
        states, logs = program.compiled(program.trainer, states)
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
    results.notes.append(
        "memory: neurodyn has no checkpointed-BPTT option; the checkpointed variant is "
        "implemented in the harness (experiments/benchmark/_case_memory.py: jax.checkpoint "
        "around chunks of ~sqrt(T) steps of the scan). The library needs this option "
        "(e.g. TrainConfig(checkpoint_every=...))."
    )
