"""Representational similarity: linear CKA and the angular Procrustes shape distance.

Both compare two networks' hidden states on the same trials, `[*sample, hidden]` with
every leading axis (trial, time) flattened into samples; widths may differ.
"""

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float


def _prepare(X: Array, Y: Array, owner: str) -> tuple[Array, Array]:
    if X.shape[:-1] != Y.shape[:-1]:
        raise ValueError(
            f"{owner}: X and Y must hold the same samples (every axis but the last equal), "
            f"got shapes {X.shape} and {Y.shape}."
        )
    X = X.reshape(-1, X.shape[-1])
    Y = Y.reshape(-1, Y.shape[-1])
    return X - X.mean(0), Y - Y.mean(0)


@eqx.filter_jit
def linear_cka(X: Float[Array, "*sample hidden"], Y: Float[Array, "*sample hidden_"]) -> Float[Array, ""]:
    """Linear centred kernel alignment between two representations.

        CKA(X, Y) = ‖Yᵀ X‖_F² / (‖Xᵀ X‖_F ‖Yᵀ Y‖_F)     (columns centred)

    In [0, 1]; 1 for identical representations; invariant to orthogonal transforms and
    isotropic scaling of either representation, not to general invertible maps.
    Vmappable over pairs.

    Reference: Kornblith, Norouzi, Lee, Hinton, "Similarity of neural network
    representations revisited", ICML 2019.
    """
    X, Y = _prepare(X, Y, "linear_cka")
    tiny = jnp.finfo(X.dtype).tiny
    cross = jnp.sum((Y.T @ X) ** 2)
    return cross / jnp.maximum(jnp.linalg.norm(X.T @ X) * jnp.linalg.norm(Y.T @ Y), tiny)


@eqx.filter_jit
def procrustes_angle(
    X: Float[Array, "*sample hidden"], Y: Float[Array, "*sample hidden_"]
) -> Float[Array, ""]:
    """Angular Procrustes shape distance between two representations.

        θ(X, Y) = arccos ‖X̂ᵀ Ŷ‖_*     with X̂, Ŷ centred and scaled to ‖·‖_F = 1

    (‖·‖_* the nuclear norm), the angle between the two shapes after the best rotation
    or reflection; a metric in [0, π/2]. Computed as 2 arcsin(‖X̂ − Ŷ Q‖_F / 2) at the
    optimal orthogonal Q, which is exact near 0 where arccos is not. A narrower
    representation is zero-padded to the wider one's width. Vmappable over pairs.

    Reference: Williams, Kunz, Kornblith, Linderman, "Generalized shape metrics on neural
    representations", NeurIPS 2021 (the α = 1 rotation-invariant metric).
    """
    X, Y = _prepare(X, Y, "procrustes_angle")
    width = max(X.shape[1], Y.shape[1])
    X = jnp.pad(X, ((0, 0), (0, width - X.shape[1])))
    Y = jnp.pad(Y, ((0, 0), (0, width - Y.shape[1])))
    tiny = jnp.finfo(X.dtype).tiny
    X = X / jnp.maximum(jnp.linalg.norm(X), tiny)
    Y = Y / jnp.maximum(jnp.linalg.norm(Y), tiny)
    u, _, vt = jnp.linalg.svd(Y.T @ X)
    residual = jnp.linalg.norm(X - Y @ (u @ vt))
    return 2.0 * jnp.arcsin(jnp.clip(residual / 2.0, 0.0, 1.0))
