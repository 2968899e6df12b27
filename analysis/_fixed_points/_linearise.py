"""Linearisation at fixed points: Jacobians by autodiff, eigenvalues, stability."""

import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Complex, Float, Int

from neurodyn.models import AbstractContinuousRNN, AbstractRNN

from ._points import SADDLE, STABLE, UNSTABLE


def jacobian(
    model: AbstractRNN, state: Float[Array, " state"], u: Float[Array, " input"]
) -> Float[Array, "state state"]:
    """The Jacobian of the linearised dynamics at `state` under constant input `u`.

    Continuous models: ∂F/∂h of the vector field F. Discrete models: the Jacobian of the
    step map, ∂step/∂h = I + ∂F/∂h with F = step(h, u) − h. Forward-mode autodiff
    (`jax.jacfwd`) of the noise-free `model.residual`; no finite differences.
    """
    jac = jax.jacfwd(model.residual)(state, u)
    if isinstance(model, AbstractContinuousRNN):
        return jac
    return jac + jnp.eye(jac.shape[-1], dtype=jac.dtype)


def growth(eigenvalues: Complex[Array, "..."], continuous: bool) -> Float[Array, "..."]:
    """How strongly each mode grows: Re λ (continuous, unstable if > 0) or |λ| − 1 (discrete)."""
    return jnp.real(eigenvalues) if continuous else jnp.abs(eigenvalues) - 1.0


def linearise(
    model: AbstractRNN,
    points: Float[Array, "fp state"],
    valid: Bool[Array, " fp"],
    u: Float[Array, " input"],
) -> tuple[
    Complex[Array, "fp eig"], Int[Array, " fp"], Int[Array, " fp"], Float[Array, "fp state"]
]:
    """Eigenvalues, unstable-mode counts, stability codes and one-mode unstable vectors.

    Only the valid slots (a prefix of `fp`) are linearised: a `while_loop` over slots
    stops at the last valid one, so a mostly empty `fp` axis costs nothing (under a
    vmap over members, the loop runs to the longest member's count).

    `jnp.linalg.eig` (LAPACK geev) is used. It runs on CPU; on GPU, JAX calls LAPACK on
    the host (a device-host copy per point, fine at these sizes; MAGMA optional); on TPU
    it is not implemented: run the analysis under `jax.default_device(cpu)`. Eigenvalues
    are sorted most unstable first; a mode is unstable if Re λ > 0 (continuous) or
    |λ| > 1 (discrete), strictly, so marginal modes count as stable.
    """
    continuous = isinstance(model, AbstractContinuousRNN)
    n_fp, n_state = points.shape
    dtype = points.dtype
    cdtype = jnp.result_type(dtype, jnp.complex64)
    count = valid.sum()

    def body(carry):
        i, eigs, vecs = carry
        jac = jacobian(model, points[i], u)
        lam, v = jnp.linalg.eig(jac)
        order = jnp.argsort(-growth(lam, continuous))
        lam, v = lam[order], v[:, order]
        # With exactly one unstable mode λ is real, so its eigenvector is real.
        vec = jnp.real(v[:, 0]).astype(dtype)
        vec = vec / jnp.linalg.norm(vec)
        return i + 1, eigs.at[i].set(lam.astype(cdtype)), vecs.at[i].set(vec)

    init = (
        jnp.asarray(0, count.dtype),
        jnp.full((n_fp, n_state), jnp.nan * (1 + 1j), cdtype),
        jnp.full((n_fp, n_state), jnp.nan, dtype),
    )
    _, eigs, vecs = jax.lax.while_loop(lambda c: c[0] < count, body, init)
    n_unstable = jnp.sum(growth(eigs, continuous) > 0, axis=-1).astype(jnp.int32)
    n_unstable = jnp.where(valid, n_unstable, -1)
    stability = jnp.where(
        n_unstable == 0, STABLE, jnp.where(n_unstable == n_state, UNSTABLE, SADDLE)
    ).astype(jnp.int32)
    stability = jnp.where(valid, stability, -1)
    vecs = jnp.where((valid & (n_unstable == 1))[:, None], vecs, jnp.nan)
    return eigs, n_unstable, stability, vecs
