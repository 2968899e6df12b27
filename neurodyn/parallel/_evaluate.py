"""`evaluate`: one trial of any neurodyn model, sequentially or parallel in time."""

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from neurodyn._types import Trajectory

from . import _checks
from ._grad import solve
from ._info import SolveInfo
from ._jacobian import step_keys

AUTO_MAX_ITER = 32
AUTO_DENSE_LIMIT = 64
ELK_EXTRA_ITER = 50


def default_tol(dtype) -> float:
    """The default `tol`: 1e-12 for float64 states, 1e-5 for float32, 1e-2 below."""
    size = jnp.dtype(dtype).itemsize
    return 1e-12 if size >= 8 else (1e-5 if size >= 4 else 1e-2)


def evaluate(
    model,
    inputs: Float[Array, "time input"],
    *,
    method: str = "auto",
    max_iter: int | None = None,
    tol: float | None = None,
    state0: Float[Array, " state"] | None = None,
    guess: Float[Array, "time state"] | None = None,
    damping: float = 1.0,
    parallel: bool | None = None,
    key: PRNGKeyArray | None = None,
) -> tuple[Trajectory, SolveInfo]:
    """Run a model over one trial, as `model(inputs)` does, in O(log T) depth if asked.

    The trajectory solves s_t = f_t(s_{t−1}) with f_t(s) = `model.step(s, inputs[t],
    key=k_t)`, k_t from `jr.split(key, T)` as in `AbstractRNN.__call__` (same key, same
    noise); continuous models use their fixed-step `step`. Methods: `"scan"` (the
    sequential `lax.scan`); `"deer"` (Newton, dense Jacobians: Lim et al., ICLR 2024);
    `"quasi_deer"` (their diagonals); `"elk"` / `"quasi_elk"` (Levenberg–Marquardt
    damped steps by a parallel Kalman smoother: Gonzalez et al., NeurIPS 2024);
    `"auto"`: the scan on CPU backends (where the parallel solve measured slower), else
    `"deer"` (or `"quasi_deer"` above 64 state units) for at most 32 iterations, then
    the scan under `lax.cond` if that did not converge (under `vmap` both run).
    `parallel=True` makes `"auto"` try the parallel solve on any backend, `False`
    always scans. Gradients (reverse mode) are implicit at the solution: one reverse
    associative scan for the adjoint, exact with dense Jacobians, whatever the method.

    **Arguments:**

    - `model`: any `AbstractRNN`; `inputs`: `[time, input]` (batch with `jax.vmap`).
    - `max_iter`: most Newton steps (default T, which suffices for deer and quasi-deer;
      2T + 50 for the damped steps of elk and quasi-elk; 32 under `"auto"`); `tol`: converged when every |s_t,i − f_t(s_{t−1})_i| ≤
      tol · max(1, |f_t(s_{t−1})_i|) (default 1e-12 for float64, 1e-5 for float32).
    - `state0`: `[state]`, default `model.initial_state()`; `guess`: `[time, state]`,
      the first iterate (a warm start; default s_0 at every step); `damping`: ELK's
      first λ; `key`: process noise when given.

    **Returns:** `(Trajectory, SolveInfo)`.
    """
    _checks.check_model(model)
    method = _checks.check_method(method)
    _checks.check_max_iter(max_iter)
    _checks.check_tol(tol)
    _checks.check_damping(damping)
    n_time = _checks.check_inputs(model, inputs)
    _checks.check_state(
        "state0", state0, (model.state_size,), "[state], one initial state",
        "Pass one state like model.initial_state(); batch trials with jax.vmap.",
    )
    _checks.check_state(
        "guess", guess, (n_time, model.state_size), "[time, state], a whole trajectory",
        "Pass the states of an earlier trajectory of the same length, e.g. traj.state.",
    )
    if parallel is not None and not isinstance(parallel, bool):
        raise TypeError(f"evaluate: parallel must be None, True or False, got {parallel!r}.")
    if method == "auto":
        parallel = jax.default_backend() != "cpu" if parallel is None else parallel
        method = "auto" if parallel else "scan"
    if max_iter is None:
        if method == "auto":
            max_iter = min(n_time, AUTO_MAX_ITER)
        elif method.endswith("elk"):
            # A damped step fixes less than one more state; the damping's own schedule
            # adds a roughly constant number of steps (about 10 from λ = 1 to 1e-12).
            max_iter = 2 * n_time + ELK_EXTRA_ITER
        else:
            max_iter = n_time
    # Numbers travel as arrays, and s0 and the first iterate are always given, so one
    # compiled program serves every max_iter, tol, λ, state0 and warm start.
    max_iter = jnp.asarray(max_iter, dtype=jnp.int32)
    tol = jnp.asarray(jnp.nan if tol is None else tol)  # NaN: the dtype's default
    damping = jnp.asarray(damping)
    s0 = model.initial_state() if state0 is None else jnp.asarray(state0)
    if method == "scan":
        guess = None
    elif guess is None:
        guess = jnp.broadcast_to(s0, (n_time, s0.shape[0]))
    return _evaluate(model, inputs, s0, guess, tol, damping, max_iter, key, method=method)


@eqx.filter_jit
def _evaluate(model, inputs, s0, guess, tol, damping, max_iter, key, *, method):
    dtype = jax.eval_shape(model.step, s0, inputs[0]).dtype
    s0 = s0.astype(dtype)
    tol = jnp.where(jnp.isnan(tol), default_tol(dtype), tol).astype(dtype)
    damping = damping.astype(dtype)
    if method == "scan":
        return _scan(model, inputs, s0, key, dtype, iterations=jnp.asarray(0, dtype=jnp.int32))
    inner = method
    if method == "auto":
        inner = "deer" if s0.shape[0] <= AUTO_DENSE_LIMIT else "quasi_deer"
    guess = jax.lax.stop_gradient(guess).astype(dtype)
    settings = (inner, max_iter, damping)
    states, info = solve((model, s0, inputs), step_keys(key, inputs.shape[0]), guess, tol, settings)
    traj = Trajectory(state=states, output=jax.vmap(model.readout)(states))
    if method != "auto":
        return traj, info
    return jax.lax.cond(
        info.converged,
        lambda: (traj, info),
        lambda: _scan(model, inputs, s0, key, dtype, iterations=info.iterations),
    )


def _scan(model, inputs, s0, key, dtype, *, iterations):
    traj = model(inputs, key=key, state0=s0)
    info = SolveInfo(
        iterations=iterations,
        converged=jnp.asarray(True),
        max_residual=jnp.asarray(0.0, dtype=dtype),
        scanned=jnp.asarray(True),
    )
    return traj, info
