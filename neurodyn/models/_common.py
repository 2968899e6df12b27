"""Helpers shared by the models: validation and conversion of arguments, and `matvec`.

Numeric arguments a sweep may vary (τ, noise, gain, γ) become float array leaves; they
are range-checked only when concrete, so constructors still work under `vmap` (traced
values are checked at the spec edge instead).
"""

import jax.numpy as jnp
import numpy as np

from neurodyn import _checks


def matvec(W, x):
    """W @ x for a matrix `W[out, in]` and one trial's vector `x[in]`, as `x @ Wᵀ`.

    The models are written for one trial and vmapped over the batch. Under `vmap`,
    `W @ x` becomes a matmul whose output is `[out, batch]`, which every following
    elementwise operation then reads transposed; `x @ Wᵀ` gives `[batch, out]` directly,
    and its backward pass has no transposed copies either. On XLA's CPU backend this is
    1.1-1.2x the training throughput of the benchmark's CTRNN (experiments/benchmark).
    """
    return x @ W.T


def sizes(owner: str, input_size, hidden_size, output_size) -> tuple[int, int, int]:
    return (
        _checks.positive_int(owner, "input_size", input_size),
        _checks.positive_int(owner, "hidden_size", hidden_size),
        _checks.positive_int(owner, "output_size", output_size),
    )


def step_size(owner: str, dt) -> float:
    """`dt` is static (it fixes the compiled step), so it must be a concrete number."""
    if not _checks.is_concrete(dt) or np.ndim(dt) != 0:
        raise TypeError(
            f"{owner}: dt must be a plain number (it is static: one compiled program per "
            f"dt), got {type(dt).__name__} {getattr(dt, 'shape', '')}. Sweep tau instead."
        )
    _checks.in_range(owner, "dt", dt, low=0.0, low_open=True, fix="Use a positive step.")
    return float(dt)


def scalar_leaf(owner: str, field: str, value, **bounds) -> jnp.ndarray:
    """A float scalar array leaf, range-checked when concrete."""
    if np.ndim(value) != 0:
        raise ValueError(
            f"{owner}: {field} must be a scalar, got shape {np.shape(value)}. "
            f"Vary it across networks with a sweep axis, not inside one network."
        )
    _checks.in_range(owner, field, value, **bounds)
    return jnp.asarray(value, dtype=float)


def per_neuron(owner: str, field: str, value, hidden_size: int) -> jnp.ndarray:
    """A scalar or `(hidden,)` value broadcast to a `(hidden,)` float array."""
    shape = np.shape(value)
    if shape not in ((), (hidden_size,)):
        raise ValueError(
            f"{owner}: {field} must be a scalar or have shape ({hidden_size},) "
            f"(one per hidden unit), got shape {shape}."
        )
    return jnp.broadcast_to(jnp.asarray(value, dtype=float), (hidden_size,))


def time_constants(owner: str, tau, hidden_size: int, *, dt: float) -> jnp.ndarray:
    """Per-neuron τ for a continuous model: positive and, when concrete, ≥ dt."""
    _checks.in_range(owner, "tau", tau, low=0.0, low_open=True, fix="Time constants must be positive.")
    if _checks.is_concrete(tau):
        smallest = float(np.min(np.asarray(tau, dtype=float)))
        if smallest < dt:
            raise ValueError(
                f"{owner}: tau={smallest:g} is smaller than dt={dt:g}; a fixed step longer "
                f"than a time constant overshoots the leak (and τ would be clamped to dt). "
                f"Use dt <= min(tau), e.g. dt={smallest / 10:g}, or a larger tau."
            )
    return per_neuron(owner, "tau", tau, hidden_size)
