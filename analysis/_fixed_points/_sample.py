"""Initial states for the fixed-point search, sampled off stored trajectories."""

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, PRNGKeyArray


def sample_initial_states(
    states: Float[Array, "... state"],
    n: int = 1024,
    *,
    noise_scale: float = 0.5,
    key: PRNGKeyArray,
) -> Float[Array, "candidate state"]:
    """Draw `n` starting states for `find_fixed_points` from stored trajectories.

    States are picked uniformly with replacement from every leading position of
    `states` (e.g. `[trial, time, state]`), skipping rows with NaN (a diverged member's
    stored fill), then isotropic Gaussian noise of standard deviation `noise_scale` is
    added to every entry. Vmappable over members; `n` is static.

    The defaults are the reference finder's (FixedPointFinder, Golub & Sussillo 2018):
    1024 states, noise 0.5. The noise helps the search leave the trajectories and find
    the saddles between them; at 0.5 per unit the candidates of a saturating network
    spread well beyond its trajectories, which is why distance outliers are dropped.
    Use `noise_scale=0` to start on the trajectories themselves.

    **Returns:** `[n, state]`.
    """
    states = jnp.asarray(states)
    states = states.astype(jnp.result_type(states.dtype, jnp.float32))
    if states.ndim < 1:
        raise ValueError(
            "sample_initial_states: states must have a trailing `state` axis, got a scalar."
        )
    return _sample(states.reshape(-1, states.shape[-1]), n, jnp.asarray(noise_scale), key)


@eqx.filter_jit
def _sample(flat, n, noise_scale, key):
    kpick, knoise = jr.split(key)
    finite = jnp.all(jnp.isfinite(flat), axis=-1)
    p = finite / jnp.maximum(finite.sum(), 1)
    picked = flat[jr.choice(kpick, flat.shape[0], (n,), p=p)]
    noise = jr.normal(knoise, picked.shape, dtype=picked.dtype)
    return picked + noise_scale.astype(picked.dtype) * noise
