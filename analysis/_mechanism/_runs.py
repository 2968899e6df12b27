"""Noise-driven runs summarised on the fly, principal planes, relaxation without input.

A run of 10⁴–10⁵ steps is never held whole: `noise_run` streams it through `drive` in
chunks into a `RunSummary` (mean and covariance by Chan's pairwise update, a few states
sampled at even intervals, the first states as a trace, and the number of changes of
the argmax output). Every operation is homogeneous in the states, so for a bias-free
network driven from h0 = 0 a noise scale c > 0 scales every summary exactly (bit for bit
when c is a power of two), as the hidden trajectory does.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int, PRNGKeyArray

from neurodyn.models import AbstractRNN

from .._long_runs import AbstractAccumulator, GaussianInput, drive


class RunSummary(eqx.Module):
    """What a noise-driven run leaves behind.

    **Fields:** `count` (recorded steps), `mean` `[state]`, `covariance` `[state, state]`
    (1/n normalised), `samples` `[sample, state]` (every `n_steps // n_samples`-th
    state), `trace` `[trace, state]` (the first recorded states), `changes` (steps
    whose argmax output differs from the previous step's).
    """

    count: Int[Array, ""]
    mean: Float[Array, " state"]
    covariance: Float[Array, "state state"]
    samples: Float[Array, "sample state"]
    trace: Float[Array, "trace state"]
    changes: Int[Array, ""]


class _RunAccumulator(AbstractAccumulator):
    model: AbstractRNN
    n_samples: int = eqx.field(static=True)
    stride: int = eqx.field(static=True)
    n_trace: int = eqx.field(static=True)

    def init(self, n_units, dtype):
        z = lambda *shape: jnp.zeros(shape, dtype)
        count = jnp.zeros((), jnp.int32)
        return (count, z(n_units), z(n_units, n_units), z(self.n_samples, n_units),
                z(self.n_trace, n_units), jnp.zeros((), jnp.int32), jnp.zeros((), jnp.int32))

    def update(self, state, chunk):
        count, mean, m2, samples, trace, changes, last = state
        n_b = chunk.shape[0]
        dtype = chunk.dtype
        mean_b = jnp.mean(chunk, axis=0)
        centred = chunk - mean_b
        m2_b = jnp.matmul(centred.T, centred, precision="highest")
        n = count + n_b
        delta = mean_b - mean
        w_b = jnp.asarray(n_b, dtype) / n.astype(dtype)
        new_mean = mean + delta * w_b
        m2 = m2 + m2_b + jnp.outer(delta, delta) * (count.astype(dtype) * w_b)
        idx = count + jnp.arange(n_b)
        take = (idx + 1) % self.stride == 0
        slot = (idx + 1) // self.stride - 1
        slot = jnp.where(take & (slot < self.n_samples), slot, self.n_samples)
        samples = samples.at[slot].set(chunk, mode="drop")
        trace = trace.at[jnp.where(idx < self.n_trace, idx, self.n_trace)].set(chunk, mode="drop")
        cls = jnp.argmax(jax.vmap(self.model.readout)(chunk), axis=-1).astype(jnp.int32)
        inner = jnp.sum(cls[1:] != cls[:-1])
        across = (count > 0) & (cls[0] != last)
        changes = changes + inner + across.astype(jnp.int32)
        return (n, new_mean, m2, samples, trace, changes, cls[-1])

    def finalize(self, state):
        count, mean, m2, samples, trace, changes, _ = state
        return RunSummary(count, mean, m2 / count.astype(m2.dtype), samples, trace, changes)


def noise_run(
    model: AbstractRNN,
    noise_std: Float[Array, ""] | float,
    n_steps: int,
    *,
    key: PRNGKeyArray,
    burn_in: int = 0,
    n_samples: int = 1,
    n_trace: int = 1,
    chunk_size: int = 1000,
    process_noise: bool = False,
) -> RunSummary:
    """Drive `model` from its initial state with x_t = `noise_std` · ξ_t, ξ_t ~ N(0, I).

    The same `key` gives the same ξ at every `noise_std`, so runs at several noise
    scales differ by the scale alone. `burn_in` steps are discarded, `n_steps` are
    summarised (see `RunSummary`); vmappable over `noise_std` and over models.
    """
    accumulator = _RunAccumulator(model, n_samples, max(n_steps // n_samples, 1), n_trace)
    out = drive(
        model, GaussianInput(std=noise_std), n_steps, burn_in=burn_in, key=key,
        chunk_size=min(chunk_size, n_steps), record="state", accumulator=accumulator,
        noise=process_noise,
    )
    return jax.tree_util.tree_map(lambda x: x[0], out)


def _orient(components: Float[Array, "pc state"]) -> Float[Array, "pc state"]:
    """Fix each axis's sign: its largest-magnitude entry is positive."""
    pivot = jnp.take_along_axis(components, jnp.argmax(jnp.abs(components), axis=-1)[:, None], axis=-1)
    return components * jnp.where(pivot < 0, -1.0, 1.0).astype(components.dtype)


def principal_plane(
    covariance: Float[Array, "state state"],
) -> tuple[Float[Array, " pc"], Float[Array, "pc state"], Float[Array, ""]]:
    """Variances λ1 ≥ λ2 and axes `[2, state]` of the first two principal components,
    and the total variance (the trace)."""
    lam, vec = jnp.linalg.eigh(covariance)
    lam = jnp.maximum(lam[::-1][:2], 0.0)
    components = _orient(vec[:, ::-1][:, :2].T)
    return lam, components, jnp.trace(covariance)


def relax(
    model: AbstractRNN, states: Float[Array, "sample state"], n_relax: int
) -> tuple[Float[Array, "sample state"], Float[Array, " state"]]:
    """Run every state `n_relax` steps without input (noise-free).

    **Returns:** the end states, and the centroid along the way at which to linearise:
    the last centroid whose norm is above √tiny of the dtype, i.e. the end centroid
    unless the states decay to 0 (the bias-free ReLU network), when it is the last one
    that still carries the activation pattern of the approach.
    """
    u = jnp.zeros(model.input_size, states.dtype)
    floor = jnp.sqrt(jnp.finfo(states.dtype).tiny)

    def body(carry, _):
        h, keep = carry
        h = jax.vmap(lambda x: model.step(x, u))(h)
        centroid = jnp.mean(h, axis=0)
        ok = jnp.all(jnp.isfinite(centroid)) & (jnp.linalg.norm(centroid) > floor)
        return (h, jnp.where(ok, centroid, keep)), None

    start = jnp.mean(states, axis=0)
    (end, centroid), _ = jax.lax.scan(body, (states, start), None, length=n_relax)
    return end, centroid


def refine_fixed_point(
    model: AbstractRNN, h: Float[Array, " state"], n_iter: int = 8
) -> tuple[Float[Array, " state"], Float[Array, ""]]:
    """Newton's method on the residual F(h) (step(h) − h, or the vector field) at zero
    input from `h`, keeping the iterate of smallest ‖F‖. Returns it and ‖F‖ there."""
    u = jnp.zeros(model.input_size, h.dtype)
    residual = lambda x: model.residual(x, u)
    norm = lambda x: jnp.linalg.norm(residual(x))

    def body(_, carry):
        x, best, best_norm = carry
        step = jnp.linalg.solve(jax.jacfwd(residual)(x), residual(x))
        x = x - step
        r = norm(x)
        better = jnp.isfinite(r) & (r < best_norm)
        return (jnp.where(jnp.isfinite(x).all(), x, best), jnp.where(better, x, best),
                jnp.where(better, r, best_norm))

    _, best, best_norm = jax.lax.fori_loop(0, n_iter, body, (h, h, norm(h)))
    return best, best_norm
