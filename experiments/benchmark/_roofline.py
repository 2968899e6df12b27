"""The machine's matmul rate and the FLOPs of one training step, counted by hand.

One training step of one network (batch B, T time steps, H hidden, I inputs, O outputs)
does, per trial and time step, these matmuls (2 FLOPs per multiply-add):

- recurrent W φ(h): forward 2H², backward 2H² (dW) + 2H² (dφ) → 6H²;
- input W_in u: forward 2HI, backward 2HI (dW_in; the input needs no gradient) → 4HI;
- readout W_out φ(h): forward 2OH, backward 2OH (dW_out) + 2OH (dφ) → 6OH.

Elementwise work (tanh, the leak, Adam) and the held-out evaluation are not counted, so
the fraction of the matmul rate is a lower bound on how busy the step keeps the machine.
"""

import time

import jax
import jax.numpy as jnp
import jax.random as jr

from neurodyn.train._members import (
    devices_for,
    member_mesh,
    over_members,
    padded_size,
    shard_members,
)


def step_flops(hidden: int, batch: int, n_time: int, n_in: int = 3, n_out: int = 3) -> float:
    """Matmul FLOPs of one training step of one network."""
    h = hidden
    return float(batch * n_time * (6 * h * h + 4 * h * n_in + 6 * n_out * h))


def _timed(fn, args, repeats: int, min_seconds: float = 0.3) -> list[float]:
    """Seconds per call: each repeat makes enough calls to last about `min_seconds`."""
    jax.block_until_ready(fn(*args))  # compile and warm up
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    calls = max(1, round(min_seconds / max(time.perf_counter() - start, 1e-6)))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            out = fn(*args)
        jax.block_until_ready(out)
        times.append((time.perf_counter() - start) / calls)
    return times


def matmul_rate(n: int, repeats: int) -> list[float]:
    """FLOP/s of a large square float32 `jnp.dot` (the machine's dense-matmul rate)."""
    ka, kb = jr.split(jr.key(0))
    a = jr.normal(ka, (n, n), jnp.float32)
    b = jr.normal(kb, (n, n), jnp.float32)
    times = _timed(jax.jit(jnp.dot), (a, b), repeats)
    return [2.0 * n**3 / t for t in times]


def chain_rate(hidden: int, batch: int, n_time: int, k: int, repeats: int, mode: str = "vmap") -> list[float]:
    """FLOP/s of the recurrence's matmul chain alone: T steps of h ← tanh(h W), for one
    network ([batch, H] @ [H, H]) or K of them, either vmapped (one batched matmul
    [K, batch, H] @ [K, H, H] per step), one after another on one device (`lax.map`
    over K: "map"), or as a sweep lays a group out (`"sweep"`: members split over every
    device, one device per CPU core, `lax.map` on each).

    This is the ceiling for a training step's forward pass: each matmul waits for the
    previous one, so only the batch (and K) gives the machine parallel work. The first
    two run on one device, which on a CPU is about one core's worth of these small
    matmuls; the dense rate they are compared with uses every core.
    """
    mesh = None
    if mode == "sweep":
        devices = devices_for(k, jax.devices())
        mesh = member_mesh(devices)
        k = padded_size(k, len(devices))  # as a group is padded; the padding's FLOPs count
    kx, kw = jr.split(jr.key(1))
    x = jr.normal(kx, (k, batch, hidden), jnp.float32)
    w = jr.normal(kw, (k, hidden, hidden), jnp.float32) / hidden**0.5

    def one(x, w):
        return jax.lax.fori_loop(0, n_time, lambda _, h: jnp.tanh(h @ w), x)

    if mode == "vmap":
        fn = jax.jit(jax.vmap(one))
    elif mode == "map":
        fn = jax.jit(lambda x, w: jax.lax.map(lambda xw: one(*xw), (x, w)))
    elif mode == "sweep":
        fn = jax.jit(lambda x, w: over_members(lambda xw: one(*xw), (x, w), layout="map", mesh=mesh))
        x, w = shard_members((x, w), mesh)
    else:
        raise ValueError(f"chain_rate: mode must be 'vmap', 'map' or 'sweep', got {mode!r}.")
    times = _timed(fn, (x, w), repeats)
    return [2.0 * k * batch * hidden**2 * n_time / t for t in times]
