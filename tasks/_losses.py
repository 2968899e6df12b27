"""The masked losses a task's `batch_loss` is built from."""

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
