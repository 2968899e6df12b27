"""The saddle–attractor graph: where each side of a saddle's unstable direction leads."""

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from neurodyn.models import AbstractRNN

from ._points import STABLE, FixedPoints


def connect_saddles(
    model: AbstractRNN,
    fixed_points: FixedPoints,
    u: Float[Array, " input"] | None = None,
    *,
    eps: float = 1e-2,
    n_steps: int = 5000,
    tol: float = 1e-2,
    check_every: int = 50,
    max_saddles: int | None = None,
) -> FixedPoints:
    """Follow the unstable direction of every one-mode saddle to the attractors it joins.

    From each saddle h* (a fixed point, not a slow point, with exactly one unstable
    mode, unit eigenvector v) the two states h* ± eps·v are run forward under the
    noise-free dynamics at constant input (`model.step` scanned: the map itself for
    discrete models, the model's fixed Euler/Heun step of `dt` for continuous ones).
    A side reaches attractor j when it comes within `tol` (Euclidean) of stable fixed
    point j; integration stops early, checked every `check_every` steps, once every
    side has arrived, and gives up after `n_steps` (that side gets -1).

    **Arguments:**

    - `fixed_points`: from `find_fixed_points`, for this model (no leading axes; vmap
      this function over members).
    - `u`: the constant input; the one the points were found at by default.
    - `max_saddles`: how many saddles to follow (default: the size of `fp`); the first
      in `fp` order (best q) are taken. Lower it to save time on a large, sparse `fp`.

    **Returns:** `fixed_points` with `attractors` `[fp, 2]` filled: the slot of the
    attractor reached along +v and along −v for each one-mode saddle, -1 elsewhere.
    """
    if fixed_points.batch_shape:
        raise ValueError(
            "connect_saddles: fixed_points has leading axes "
            f"{fixed_points.batch_shape}; pass one model's result (fps[i]) or vmap: "
            "eqx.filter_vmap(connect_saddles)(models, fps)."
        )
    u = fixed_points.u if u is None else jnp.asarray(u)
    n_fp = fixed_points.valid.shape[-1]
    k = n_fp if max_saddles is None else min(max_saddles, n_fp)
    n_chunks = jnp.asarray(-(-n_steps // check_every))
    numbers = (jnp.asarray(eps, float), jnp.asarray(tol, float), n_chunks)
    return _connect(model, fixed_points, u, numbers, check_every, k)


@eqx.filter_jit
def _connect(model, fps, u, numbers, check_every, k):
    eps, tol, n_chunks = numbers
    with jax.default_matmul_precision("highest"):
        is_saddle = fps.has_unstable_vector & ~fps.slow
        is_attractor = fps.valid & ~fps.slow & (fps.stability == STABLE)
        (idx,) = jnp.nonzero(is_saddle, size=k, fill_value=0)
        active = is_saddle[idx]
        centre = jnp.where(active[:, None], fps.points[idx], 0.0)
        v = jnp.where(active[:, None], fps.unstable_vector[idx], 0.0)
        starts = jnp.stack([centre + eps * v, centre - eps * v], axis=1)  # [k, 2, state]
        targets = jnp.where(is_attractor[:, None], fps.points, jnp.inf)

        def nearest(h):
            d = jnp.linalg.norm(targets - h, axis=-1)
            j = jnp.argmin(d)
            return jnp.where(d[j] <= tol, j, -1)

        step = jax.vmap(jax.vmap(lambda h: model.step(h, u)))
        find = jax.vmap(jax.vmap(nearest))

        def cond(carry):
            i, _, found = carry
            return (i < n_chunks) & jnp.any(active[:, None] & (found < 0))

        def body(carry):
            i, h, _ = carry
            h = jax.lax.fori_loop(0, check_every, lambda _, h: step(h), h)
            return i + 1, h, find(h)

        init = (jnp.asarray(0), starts, find(starts))
        _, _, found = jax.lax.while_loop(cond, body, init)
        found = jnp.where(active[:, None], found, -1).astype(jnp.int32)
        # Slots not followed keep -1; fill_value=0 repeats slot 0, masked by `active`.
        attractors = jnp.full((fps.valid.shape[-1], 2), -1, jnp.int32)
        attractors = attractors.at[jnp.where(active, idx, fps.valid.shape[-1])].set(
            found, mode="drop"
        )
        return eqx.tree_at(lambda f: f.attractors, fps, attractors)
