"""Gradients of a parallel solve by implicit differentiation at its solution.

At the solution s* of s_t = f_t(s_{t−1}; θ), s_0 given, a loss L(s*) has the adjoint
(backpropagation through time written as a recurrence)

    λ_T = ∂L/∂s_T,   λ_t = ∂L/∂s_t + J_{t+1}ᵀ λ_{t+1},   J_t = ∂f_t/∂s (s*_{t−1}),

and dL/dθ = Σ_t (∂f_t/∂θ)ᵀ λ_t, dL/ds_0 = J_1ᵀ λ_1, dL/du_t = (∂f_t/∂u_t)ᵀ λ_t. The
backward pass builds the dense J_t once (`jax.jacfwd`, vmapped over time), solves the
adjoint by one reverse associative scan, and pulls λ back through one vmapped VJP of
the step. The Newton iterations are never differentiated, and the gradient is exact
(to the solve's tolerance) whatever method produced s*, quasi ones included.
Reverse mode only: forward-mode (`jax.jvp`) through the solve is not defined.
Reference: Lim et al., ICLR 2024, §3.3.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.tree_util as jtu

from ._jacobian import dense_linearisation, step_map
from ._newton import newton_solve
from ._scan import linear_recurrence


def _previous(s0, states):
    return jnp.concatenate([s0[None], states[:-1]], axis=0)


@eqx.filter_custom_vjp
def solve(primals, keys, guess, tol, settings):
    """(model, s0, inputs) ↦ (states `[time, state]`, SolveInfo), differentiable in
    the model's floating-point leaves, s0 and the inputs. `settings` is
    (method, max_iter, damping)."""
    model, s0, inputs = primals
    method, max_iter, damping = settings
    return newton_solve(model, s0, inputs, keys, guess, tol, method=method, max_iter=max_iter, damping=damping)


@solve.def_fwd
def _solve_fwd(perturbed, primals, keys, guess, tol, settings):
    del perturbed
    out = solve.fn(primals, keys, guess, tol, settings)
    return out, out[0]


@solve.def_bwd
def _solve_bwd(states, grads, perturbed, primals, keys, guess, tol, settings):
    del perturbed, guess, tol, settings
    model, s0, inputs = primals
    g = grads[0]
    if g is None:
        return jtu.tree_map(lambda _: None, eqx.filter(primals, eqx.is_inexact_array))
    prev = _previous(s0, states)
    xs = (inputs, keys)
    _, J = jax.vmap(dense_linearisation(model))(prev, xs)
    # λ_t = g_t + J_{t+1}ᵀ λ_{t+1}: a reverse recurrence whose last matrix is zero.
    Jt = jnp.swapaxes(J[1:], -1, -2)
    lam = linear_recurrence(jnp.concatenate([Jt, jnp.zeros_like(J[:1])], axis=0), g, diagonal=False, reverse=True)

    def steps(model, prev, inputs):
        return jax.vmap(step_map(model))(prev, (inputs, keys))

    _, pull = eqx.filter_vjp(steps, model, prev, inputs)
    g_model, g_prev, g_inputs = pull(lam)
    return (g_model, g_prev[0], g_inputs)
