"""Newton's method on a whole trajectory: DEER, quasi-DEER, ELK and quasi-ELK.

The trajectory s = (s_1 … s_T) of s_t = f_t(s_{t−1}) is the root of the residual
r_t(s) = s_t − f_t(s_{t−1}). Linearising f_t at the current iterate s̄ turns one Newton
step δ = s_new − s̄ into the linear recurrence

    δ_t = A_t δ_{t−1} − r_t(s̄),   δ_0 = 0,   A_t = ∂f_t/∂s (s̄_{t−1}),

solved in O(log T) depth by an associative scan (DEER: Lim et al., ICLR 2024). With A_t
replaced by its diagonal the step is quasi-DEER (Gonzalez et al., NeurIPS 2024): still
exact at the solution, cheaper per step, linearly convergent. Because δ_0 = 0, the
first k states are exact after k steps of either, so T steps always suffice.

ELK (Gonzalez et al., NeurIPS 2024) damps the step: δ minimises
Σ_t ‖δ_t − A_t δ_{t−1} + r_t‖² + λ Σ_t ‖δ_t‖², a Levenberg–Marquardt step computed by a
parallel Kalman smoother (`damped_recurrence`). Here λ adapts: a step that lowers
Σ‖r‖² is taken and λ shrinks; one that does not is refused and λ grows. When λ passes
a ceiling the damped steps have stalled, and the rest of the solve is undamped (DEER's
steps, which fix one more state each): with expanding Jacobians Σ‖r‖² has points that are
stationary to working precision, and restarting the damping led back to them.

Guards: a NaN residual never counts as converged (`err <= tol` is False for NaN), the
loop stops on a non-finite residual, and where a step overflows (products of unstable
Jacobians grow like e^{λt}) — from the first row with a non-finite entry or one above
√(largest float), past which the next matrix product could overflow — it is replaced
by the Picard update f_t(s̄_{t−1}). Every iterate stays finite, and the rows before
the first bad one are Newton's, so k steps still fix the first k states.
"""

import jax
import jax.numpy as jnp

from ._info import SolveInfo
from ._jacobian import linearisation
from ._scan import damped_recurrence, linear_recurrence

PARALLEL_METHODS = ("deer", "quasi_deer", "elk", "quasi_elk")
_SHRINK, _GROW, _CEILING = 0.5, 10.0, 1e4


def newton_solve(model, s0, inputs, keys, guess, tol, *, method: str, max_iter, damping):
    """Solve s_t = f_t(s_{t−1}) for the whole trajectory by `method`.

    **Arguments:**

    - `model`: any `AbstractRNN`; f_t is its `step` with input `inputs[t]` and key
      `keys[t]` (`keys` None: noise-free).
    - `s0`: `[state]`; `inputs`: `[time, input]`; `guess`: `[time, state]`, the first
      iterate.
    - `tol`: converged when |r_t,i| ≤ tol · max(1, |f_t,i|) for every t and unit i
      (absolute near zero, relative for large states).
    - `method`: one of `PARALLEL_METHODS`; `max_iter`: most Newton steps;
      `damping`: the first λ of ELK.

    **Returns:** states `[time, state]` and a `SolveInfo`.
    """
    diagonal = method.startswith("quasi_")
    damped = method.endswith("elk")
    lin = jax.vmap(linearisation(model, diagonal=diagonal))
    xs = (inputs, keys)

    def linearise(s):
        prev = jnp.concatenate([s0[None], s[:-1]], axis=0)
        f, A = lin(prev, xs)
        return f, A, s - f

    def error(f, r):
        return jnp.max(jnp.abs(r) / jnp.maximum(1.0, jnp.abs(f)))

    def cond(carry):
        k, _, f, _, r, _ = carry
        err = error(f, r)
        return (k < max_iter) & ~(err <= tol) & jnp.isfinite(err)

    def body(carry):
        k, s, f, A, r, lam = carry
        if damped:
            # Past the ceiling the damped steps have stalled: from there on the steps are
            # undamped. With expanding Jacobians (spectral radius above 1) Σ‖r‖² has points
            # that are stationary to working precision (its gradient Gᵀr carries the product
            # of the Jacobians, 1.05¹⁰⁰⁰ ≈ 10²¹ for 1000 steps) where damped steps stop and
            # restarted damping returns. An undamped step always makes one more state exact
            # (causality; the overflow guard below keeps the rest finite), so T of them
            # suffice.
            lam_used = jnp.where(lam > _CEILING * jnp.maximum(damping, 1.0), 0.0, lam)
            delta = damped_recurrence(A, -r, lam_used, diagonal=diagonal)
        else:
            delta = linear_recurrence(A, -r, diagonal=diagonal)
        new = s + delta
        # From the first row that overflowed (or came within a square of it, where the
        # next matrix product would), the step is garbage: take f_t(s̄_{t−1}) there.
        big = jnp.sqrt(jnp.finfo(new.dtype).max)
        bad = jnp.any(~(jnp.abs(new) <= big), axis=-1)
        after = jnp.cumsum(bad) > 0
        new = jnp.where(after[:, None], f, new)
        f_new, A_new, r_new = linearise(new)
        if damped:
            # Accept a step that lowers Σ‖r‖², or passes the natural monotonicity test
            # ‖J̄⁻¹ r(s_new)‖ < ‖J̄⁻¹ r(s̄)‖ (Deuflhard 2004), which is blind to how badly
            # the long product of Jacobians scales Σ‖r‖².
            undamped = lam_used == 0.0
            natural_old = linear_recurrence(A, -r, diagonal=diagonal)
            natural_new = linear_recurrence(A, -r_new, diagonal=diagonal)
            natural = jnp.sum(natural_new**2) < jnp.sum(natural_old**2)
            accept = (jnp.sum(r_new**2) < jnp.sum(r**2)) | natural | undamped
            s, f, A, r = jax.tree.map(
                lambda a, b: jnp.where(accept, a, b), (new, f_new, A_new, r_new), (s, f, A, r)
            )
            lam = jnp.where(accept, jnp.where(undamped, 0.0, lam * _SHRINK), lam * _GROW)
        else:
            s, f, A, r = new, f_new, A_new, r_new
        return k + 1, s, f, A, r, lam

    f, A, r = linearise(guess)
    damping = jnp.asarray(damping, dtype=guess.dtype)
    lam = damping
    carry = (jnp.asarray(0, dtype=jnp.int32), guess, f, A, r, lam)
    k, s, f, _, r, _ = jax.lax.while_loop(cond, body, carry)
    converged = error(f, r) <= tol
    info = SolveInfo(iterations=k, converged=converged, max_residual=jnp.max(jnp.abs(r)), scanned=jnp.asarray(False))
    return s, info
