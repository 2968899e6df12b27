"""Masked losses and weight / activity penalties."""

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float


def masked_mse(
    outputs: Float[Array, "trial time output"],
    targets: Float[Array, "trial time output"],
    mask: Float[Array, "trial time output"],
) -> Float[Array, ""]:
    """Mean squared error over the entries where `mask` is 1.

    L = Σ m (y − t)² / Σ m, pooled over the whole batch.
    """
    err = mask * (outputs - targets) ** 2
    return jnp.sum(err) / jnp.maximum(jnp.sum(mask), 1.0)


def masked_cross_entropy(
    logits: Float[Array, "trial time output"],
    targets: Float[Array, "trial time output"],
    mask: Float[Array, "trial time output"],
    *,
    n_classes: int = 2,
) -> Float[Array, ""]:
    """Cross-entropy of one-hot `targets` under `logits`, over masked entries.

    The output axis is read as consecutive heads of `n_classes` logits each (one head for
    single-head tasks); a head counts at a time step where its mask is 1.
    L = −Σ m_h Σ_c t_c log softmax(y_h)_c / Σ m_h.
    """
    *lead, n_out = logits.shape
    heads = n_out // n_classes
    shape = (*lead, heads, n_classes)
    logp = jax.nn.log_softmax(logits.reshape(shape), axis=-1)
    ce = -jnp.sum(targets.reshape(shape) * logp, axis=-1)
    m = mask.reshape(shape)[..., 0]
    return jnp.sum(m * ce) / jnp.maximum(jnp.sum(m), 1.0)


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
