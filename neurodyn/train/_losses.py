"""Masked losses (defined with the tasks, which own their loss) and weight / activity
penalties."""

import jax.numpy as jnp
from jaxtyping import Array, Float

from neurodyn.tasks._losses import masked_cross_entropy as masked_cross_entropy
from neurodyn.tasks._losses import masked_mse as masked_mse


def l1_penalty(weights: dict[str, Array]) -> Float[Array, ""]:
    """Σ |W| over the penalised weights."""
    return sum(jnp.sum(jnp.abs(w)) for w in weights.values())


def l2_penalty(weights: dict[str, Array]) -> Float[Array, ""]:
    """Σ W² over the penalised weights."""
    return sum(jnp.sum(w**2) for w in weights.values())


def nuclear_penalty(weights: dict[str, Array]) -> Float[Array, ""]:
    """Σ of singular values (nuclear norm) of each penalised matrix."""
    return sum(jnp.sum(jnp.linalg.svd(w, compute_uv=False)) for w in weights.values())


def rate_penalty(rates: Float[Array, "trial time hidden"]) -> Float[Array, ""]:
    """Mean squared firing rate over trials, time and units."""
    return jnp.mean(rates**2)
