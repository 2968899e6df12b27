"""A model's step map as a function of the previous state, and its linearisation.

Step t is f_t(s) = `model.step(s, u_t, key=k_t)`, with k_t the t-th of
`jr.split(key, T)` exactly as `AbstractRNN.__call__` draws them, so a parallel solve
sees the same noise as the scan. Continuous models enter through their fixed-step
`step` (Euler or Heun, Euler–Maruyama noise).
"""

import jax
import jax.numpy as jnp
import jax.random as jr

from ._diagonal import analytic_diagonal


def step_keys(key, n_time: int):
    """The per-step keys of `AbstractRNN.__call__`, or None without a key."""
    return None if key is None else jr.split(key, n_time)


def step_map(model):
    """(s, (u, k)) ↦ model.step(s, u, key=k); `k` may be None (noise-free)."""

    def f(s, x):
        u, k = x
        return model.step(s, u, key=k)

    return f


def dense_linearisation(model):
    """(s, x) ↦ (f(s, x), ∂f/∂s `(state, state)`) by forward-mode autodiff."""
    f = step_map(model)

    def lin(s, x):
        def value_twice(s):
            y = f(s, x)
            return y, y

        jac, value = jax.jacfwd(value_twice, has_aux=True)(s)
        return value, jac

    return lin


def diagonal_linearisation(model):
    """(s, x) ↦ (f(s, x), diag ∂f/∂s `(state,)`): analytic where the cell has one."""
    f = step_map(model)
    analytic = analytic_diagonal(model)
    if analytic is not None:
        return lambda s, x: (f(s, x), analytic(s, x[0], x[1]))
    dense = dense_linearisation(model)

    def lin(s, x):
        value, jac = dense(s, x)
        return value, jnp.diagonal(jac)

    return lin


def linearisation(model, *, diagonal: bool):
    """The linearisation quasi (diagonal) or full Newton needs."""
    return diagonal_linearisation(model) if diagonal else dense_linearisation(model)
