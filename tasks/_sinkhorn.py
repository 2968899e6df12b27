"""The debiased Sinkhorn divergence between two point clouds, in the log domain.

Our own implementation rather than a dependency (geomloss is PyTorch; ott-jax is a large
library for a 60-line need): it is small, pure JAX, differentiable, vmappable over
members and jit-compiled with the rest of a training step, and its iteration count is
static so it never recompiles.
"""

import functools

import jax
import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, Float


def half_squared_distances(x: Float[Array, "n dim"], y: Float[Array, "m dim"]) -> Float[Array, "n m"]:
    """C_ij = ½‖x_i − y_j‖²."""
    sq = jnp.sum(x**2, axis=1)[:, None] + jnp.sum(y**2, axis=1)[None, :] - 2 * x @ y.T
    return 0.5 * jnp.maximum(sq, 0.0)


def _softmin(eps, cost, h):
    """The soft c-transform −ε log Σ_j exp(h_j − C_ij / ε), row by row."""
    return -eps * jax.nn.logsumexp(h[None, :] - cost / eps, axis=1)


def _dual(f, g, cost, log_a, log_b, eps):
    """Entropic OT dual ⟨a, f⟩ + ⟨b, g⟩ − ε(⟨a ⊗ b, exp((f ⊕ g − C)/ε)⟩ − 1).

    With the potentials held fixed its gradient in C is the transport plan, which by the
    envelope theorem is the gradient of OT_ε itself: no backpropagation through the loop.
    """
    f, g = lax.stop_gradient(f), lax.stop_gradient(g)
    log_plan = log_a[:, None] + log_b[None, :] + (f[:, None] + g[None, :] - cost) / eps
    return jnp.exp(log_a) @ f + jnp.exp(log_b) @ g - eps * (jnp.exp(jax.nn.logsumexp(log_plan)) - 1)


def _entropic_ot(x, y, eps, schedule):
    """OT_ε(α, β) for uniform weights: alternating log-domain Sinkhorn over `schedule`."""
    log_a = jnp.full(x.shape[0], -jnp.log(x.shape[0]))
    log_b = jnp.full(y.shape[0], -jnp.log(y.shape[0]))
    cost = half_squared_distances(lax.stop_gradient(x), lax.stop_gradient(y))

    def body(potentials, e):
        f = _softmin(e, cost, log_b + potentials[1] / e)
        return (f, _softmin(e, cost.T, log_a + f / e)), None

    zeros = (jnp.zeros(x.shape[0]), jnp.zeros(y.shape[0]))
    (f, g), _ = lax.scan(body, zeros, jnp.append(schedule, eps))
    return _dual(f, g, half_squared_distances(x, y), log_a, log_b, eps)


@functools.partial(jax.jit, static_argnames="n_iter")
def sinkhorn_divergence(
    x: Float[Array, "n dim"],
    y: Float[Array, "m dim"],
    *,
    blur: float = 0.2,
    scaling: float = 0.9,
    n_iter: int = 100,
) -> Float[Array, ""]:
    """S_ε(α, β) = OT_ε(α, β) − ½ OT_ε(α, α) − ½ OT_ε(β, β) for uniform weights.

    Cost ½‖x − y‖², ε = blur². Each OT_ε runs log-domain Sinkhorn updates with
    ε-scaling: iteration k uses ε_k = max(d² · scaling^{2k}, blur²), d the diameter of
    the data's bounding box, then one last update at blur². The value is the entropic
    dual at the final potentials; it is differentiable in x and y through the cost only
    (envelope theorem), never through the loop. `n_iter` is static.

    Accuracy in float64, against 20 000 plain iterations on 2 × 128 one-hot sequences
    of length 50 (S ≈ 7.0), scaling 0.9: error 1 % at n_iter = 30, 0.2–0.4 % at 100,
    < 0.05 % at 300; the gradient's relative error on 2-D Gaussian clouds: 0.3 % at 100,
    0.05 % at 300. S(x, x) = 0 exactly (the three terms run identical computations); S
    is symmetric and ≥ 0 up to the convergence error.

    Reference: Feydy et al., "Interpolating between optimal transport and MMD using
    Sinkhorn divergences", AISTATS 2019 (and their geomloss library, whose blur,
    scaling and cost conventions these are).
    """
    eps = jnp.asarray(blur, dtype=float) ** 2
    points = lax.stop_gradient(jnp.concatenate([x, y]))
    diameter2 = jnp.sum((points.max(0) - points.min(0)) ** 2)
    schedule = jnp.maximum(diameter2 * scaling ** (2 * jnp.arange(n_iter)), eps)
    return (
        _entropic_ot(x, y, eps, schedule)
        - 0.5 * _entropic_ot(x, x, eps, schedule)
        - 0.5 * _entropic_ot(y, y, eps, schedule)
    )
