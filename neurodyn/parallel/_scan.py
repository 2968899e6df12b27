"""Linear recurrences in O(log T) depth: the inner solve of every Newton iteration.

A linear recurrence x_t = A_t x_{t−1} + b_t (x_0 = 0) is the composition of affine maps
x ↦ A_t x + b_t, and composition is associative, so `jax.lax.associative_scan` evaluates
all T prefixes in O(log T) depth (Blelloch 1990). `A_t` is a `(state, state)` matrix
(DEER, the adjoint pass) or a `(state,)` diagonal (quasi-DEER), in which case every
product is elementwise and the work is O(T · state) instead of O(T · state³).
"""

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from . import _linalg


def matvec(A, x, *, diagonal: bool):
    """A x, batched over leading axes; elementwise when `A` holds diagonals."""
    if diagonal:
        return A * x
    return jnp.einsum("...ij,...j->...i", A, x)


def matmul(A, B, *, diagonal: bool):
    """A B, batched over leading axes; elementwise when both hold diagonals."""
    return A * B if diagonal else A @ B


def transpose(A, *, diagonal: bool):
    """Aᵀ, batched over leading axes (a diagonal is its own transpose)."""
    return A if diagonal else jnp.swapaxes(A, -1, -2)


def _compose(diagonal: bool):
    def compose(earlier, later):
        A1, b1 = earlier
        A2, b2 = later
        return matmul(A2, A1, diagonal=diagonal), matvec(A2, b1, diagonal=diagonal) + b2

    return compose


def linear_recurrence(
    A: Float[Array, "time state state"] | Float[Array, "time state"],
    b: Float[Array, "time state"],
    *,
    diagonal: bool,
    reverse: bool = False,
) -> Float[Array, "time state"]:
    """Solve x_t = A_t x_{t−1} + b_t from x_0 = 0 (or x_t = A_t x_{t+1} + b_t from
    x_{T+1} = 0 with `reverse=True`) by one associative scan.

    **Arguments:**

    - `A`: `[time, state, state]`, or `[time, state]` diagonals with `diagonal=True`.
    - `b`: `[time, state]`.

    **Returns:** x `[time, state]`.
    """
    if reverse:
        return linear_recurrence(A[::-1], b[::-1], diagonal=diagonal)[::-1]
    _, x = jax.lax.associative_scan(_compose(diagonal), (A, b))
    return x


def _filter_compose(diagonal: bool):
    # The filtering elements (A, b, C, η, J) of Särkkä & García-Fernández (2021), eq. 13.
    def compose(earlier, later):
        A1, b1, C1, e1, J1 = earlier
        A2, b2, C2, e2, J2 = later
        if diagonal:
            M = 1.0 + C1 * J2
            A = A2 * A1 / M
            b = A2 * (b1 + C1 * e2) / M + b2
            C = A2 * A2 * C1 / M + C2
            e = A1 * (e2 - J2 * b1) / M + e1
            J = A1 * A1 * J2 / M + J1
            return A, b, C, e, J
        # One solve with M = I + C1 J2: since C1 and J2 are symmetric, (I + J2 C1)⁻¹ =
        # M⁻ᵀ, so A1ᵀ (I + J2 C1)⁻¹ = (M⁻¹ A1)ᵀ. C and J are re-symmetrised against drift.
        n = A1.shape[-1]
        eye = jnp.eye(n, dtype=A1.dtype)
        rhs = jnp.concatenate([A1, C1, (b1 + matvec(C1, e2, diagonal=False))[..., None]], axis=-1)
        X = _linalg.solve(eye + C1 @ J2, rhs)
        Y, W, z = X[..., :n], X[..., n : 2 * n], X[..., 2 * n]
        Yt = jnp.swapaxes(Y, -1, -2)
        A = A2 @ Y
        b = matvec(A2, z, diagonal=False) + b2
        C = A2 @ W @ jnp.swapaxes(A2, -1, -2) + C2
        e = matvec(Yt, e2 - matvec(J2, b1, diagonal=False), diagonal=False) + e1
        J = Yt @ J2 @ A1 + J1
        C = 0.5 * (C + jnp.swapaxes(C, -1, -2))
        J = 0.5 * (J + jnp.swapaxes(J, -1, -2))
        return A, b, C, e, J

    return compose


def damped_recurrence(
    A: Float[Array, "time state state"] | Float[Array, "time state"],
    b: Float[Array, "time state"],
    damping: Float[Array, ""],
    *,
    diagonal: bool,
) -> Float[Array, "time state"]:
    """The minimiser of a damped linear recurrence, by a parallel Kalman smoother.

        x* = argmin_x Σ_t ‖x_t − A_t x_{t−1} − b_t‖² + λ Σ_t ‖x_t‖²,   x_0 = 0,

    read as the linear-Gaussian state-space model x_t = A_t x_{t−1} + b_t + w_t,
    w_t ~ N(0, I), with observations 0 = x_t + v_t, v_t ~ N(0, I/λ): x* is the smoothed
    mean. Filtering is one associative scan over the elements of Särkkä &
    García-Fernández (2021); smoothing is the reverse linear recurrence
    x_t = E_t x_{t+1} + g_t of the Rauch–Tung–Striebel gains. λ = 0 gives
    `linear_recurrence(A, b)`. The Levenberg–Marquardt step of ELK (Gonzalez et al.,
    NeurIPS 2024) is this minimiser for the linearised step map.

    **Arguments:**

    - `A`: `[time, state, state]`, or `[time, state]` diagonals with `diagonal=True`
      (then every unit is its own scalar problem); `A[0]` is ignored.
    - `b`: `[time, state]`.
    - `damping`: λ ≥ 0, a scalar.

    **Returns:** x* `[time, state]`.
    """
    b = jnp.asarray(b)
    A = jnp.asarray(A).at[0].set(0.0)
    dtype = b.dtype
    kappa = jnp.asarray(damping / (1.0 + damping), dtype=dtype)  # Kalman gain, H = Q = I
    keep = 1.0 - kappa
    At = transpose(A, diagonal=diagonal)
    if diagonal:
        C = jnp.broadcast_to(keep, b.shape)
        J = kappa * A * A
    else:
        eye = jnp.eye(b.shape[-1], dtype=dtype)
        C = jnp.broadcast_to(keep * eye, A.shape)
        J = kappa * At @ A
    elems = (keep * A, keep * b, C, -kappa * matvec(At, b, diagonal=diagonal), J)
    _, m, P, _, _ = jax.lax.associative_scan(_filter_compose(diagonal), elems)

    # RTS gains E_t = P_t Fᵀ (F P_t Fᵀ + I)⁻¹ with F = A_{t+1}; none after the last step.
    F = jnp.concatenate([A[1:], jnp.zeros_like(A[:1])], axis=0)
    c = jnp.concatenate([b[1:], jnp.zeros_like(b[:1])], axis=0)
    if diagonal:
        E = P * F / (F * F * P + 1.0)
    else:
        S = F @ P @ jnp.swapaxes(F, -1, -2) + jnp.eye(b.shape[-1], dtype=dtype)
        E = jnp.swapaxes(_linalg.solve(S, F @ P), -1, -2)
    g = m - matvec(E, matvec(F, m, diagonal=diagonal) + c, diagonal=diagonal)
    return linear_recurrence(E, g, diagonal=diagonal, reverse=True)
