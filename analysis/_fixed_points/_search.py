"""Fixed-point search (Sussillo & Barak 2013): minimise q, Newton-refine, deduplicate."""

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
import optimistix as optx
from jaxtyping import Array, Float

from neurodyn.models import AbstractContinuousRNN, AbstractRNN

from ._linearise import linearise
from ._points import CONVERGED, FAILED, OUTLIER, SLOW, FixedPoints
from ._unique import deduplicate

# The reference finder's (FixedPointFinder, Golub & Sussillo 2018) absolute uniqueness
# tolerance; "auto" scales it by the spread of the initial states.
REFERENCE_UNIQUE_TOL = 1e-3


def find_fixed_points(
    model: AbstractRNN,
    u: Float[Array, "*inputs input"],
    initial_states: Float[Array, "*inputs candidate state"],
    *,
    n_iters: int = 5000,
    learning_rate: float = 1e-2,
    optimizer: optax.GradientTransformation | None = None,
    tol_q: float = 1e-12,
    newton: bool = True,
    newton_tol_q: float = 1e-3,
    max_newton_steps: int = 20,
    unique_tol: float | str = REFERENCE_UNIQUE_TOL,
    outlier_distance: float | None = 10.0,
    max_points: int | None = None,
    early_exit: bool = True,
) -> FixedPoints:
    r"""Find the fixed points and slow points of a model's noise-free dynamics.

    Minimises q(h) = ½‖F(h)‖² (F = `model.residual`: the vector field of a continuous
    model, step(h, u) − h of a discrete one) over the full state from every initial
    state at once: an optax optimiser (`optax.adam(learning_rate)` by default) vmapped
    over candidates, each keeping its best iterate, for `n_iters` steps or until every
    q is below tolerance (`early_exit`). Candidates with q ≤ `newton_tol_q` are then
    Newton-refined (`optimistix.Newton`, at most `max_newton_steps`), keeping the better
    of the two. Matmul precision is "highest" throughout (GPUs default to TF32).

    **Statuses.** A candidate is `CONVERGED` if q ≤ max(`tol_q`, floor), where floor =
    8·eps²·Σᵢ max(hᵢ², 1) is 16× the rounding floor of the dtype; `SLOW` if q ≤
    `newton_tol_q` (a slow point); else `FAILED`; `OUTLIER` if it ended farther from the
    initial states' centroid than `outlier_distance` × their mean distance to it.
    Measured floors after Newton (tanh networks, N units): float32 ≈ 0.5·N·eps² (1e-17
    at N=2, 1e-14 at 16, 3e-13 at 64, 9e-13 at 128), so a fixed 1e-12 would call true
    fixed points of 128-unit float32 networks slow; float64 ≈ 1e-31 (N=16) to 3e-30
    (N=128). Adam alone stalls near q ~ 1e-5. For float64, build the model and call this
    inside `with jax.enable_x64(True):` (or `jax.config.update("jax_enable_x64", True)`
    at start-up), with float64 initial states.

    **Uniqueness.** Converged, then slow, candidates are merged greedily in order of q:
    a candidate within `unique_tol` (Euclidean) of a kept point joins it. The default is
    the reference finder's absolute 1e-3; `"auto"` uses 1e-3 × the mean distance of the
    initial states to their centroid, for states far from unit scale.

    **Defaults vs other tools.** The reference finder (FixedPointFinder) uses tol_q
    1e-12, 5000 iterations, uniqueness 1e-3 and outliers beyond 10×, as here, but no
    Newton step, so few of its candidates reach 1e-12; some tools use tol 1e-5 and
    uniqueness 0.025, far looser: compare counts only at equal settings.

    **Arguments:** `u`: `[input]`, or `[n_inputs, input]` for several constant inputs
    (a leading axis on the result); `initial_states`: `[candidate, state]` (see
    `sample_initial_states`), or `[n_inputs, candidate, state]`; `max_points`: size of
    the `fp` axis (default: the number of candidates); numbers are traced, so changing
    a tolerance does not recompile.

    **Returns:** `FixedPoints` (print it for a summary), linearised (`jacobian`,
    eigenvalues, stability); jittable and vmappable over models:
    `eqx.filter_vmap(lambda m, x: find_fixed_points(m, u, x))(models, starts)`.

    **References:** Sussillo & Barak, Neural Computation 2013; Golub & Sussillo,
    "FixedPointFinder", JOSS 2018.
    """
    owner = "find_fixed_points"
    if not isinstance(model, AbstractRNN):
        raise TypeError(f"{owner}: model must be a neurodyn model, got {type(model).__name__}.")
    u = jnp.asarray(u)
    x0 = jnp.asarray(initial_states)
    if u.ndim not in (1, 2) or u.shape[-1] != model.input_size:
        raise ValueError(
            f"{owner}: u must have shape [input] or [n_inputs, input] with input = "
            f"{model.input_size}, got shape {u.shape}. For zero input pass "
            f"jnp.zeros({model.input_size})."
        )
    if x0.ndim not in (2, 3) or x0.shape[-1] != model.state_size or (x0.ndim == 3 and u.ndim == 1):
        raise ValueError(
            f"{owner}: initial_states must have shape [candidate, state] (or [n_inputs, "
            f"candidate, state] with a 2-D u) with state = {model.state_size}, got shape "
            f"{x0.shape}. sample_initial_states(trajectory.state, n, key=key) makes them."
        )
    if x0.ndim == 3 and x0.shape[0] != u.shape[0]:
        raise ValueError(
            f"{owner}: initial_states has {x0.shape[0]} sets but u has {u.shape[0]} inputs."
        )
    if not (isinstance(unique_tol, str) and unique_tol == "auto") and not (
        isinstance(unique_tol, (int, float)) and unique_tol >= 0
    ):
        raise ValueError(
            f"{owner}: unique_tol must be a number >= 0 or 'auto', got {unique_tol!r}."
        )
    for name, value in (("n_iters", n_iters), ("max_newton_steps", max_newton_steps)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{owner}: {name} must be an integer >= 0, got {value!r}.")
    n_candidates = x0.shape[-2]
    if max_points is None:
        max_points = n_candidates
    elif isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 1:
        raise ValueError(f"{owner}: max_points must be an integer >= 1, got {max_points!r}.")

    settings = dict(
        n_iters=n_iters,
        learning_rate=_number(learning_rate) if optimizer is None else None,
        optimizer="adam" if optimizer is None else "custom",
        tol_q=_number(tol_q),
        newton=bool(newton),
        newton_tol_q=_number(newton_tol_q),
        max_newton_steps=max_newton_steps,
        unique_tol=unique_tol,
        outlier_distance=_number(outlier_distance),
        max_points=max_points,
        early_exit=bool(early_exit),
    )
    # Numbers are traced, so one compiled program serves every tolerance; only what
    # changes shapes or structure is static.
    numbers = dict(
        n_iters=jnp.asarray(n_iters),
        learning_rate=jnp.asarray(learning_rate, float),
        tol_q=jnp.asarray(tol_q, float),
        newton_tol_q=jnp.asarray(newton_tol_q, float),
        unique_tol=jnp.asarray(1.0 if unique_tol == "auto" else unique_tol, float),
        outlier_distance=jnp.asarray(
            jnp.inf if outlier_distance is None else outlier_distance, float
        ),
    )
    structure = dict(
        optimizer=optimizer,
        newton=bool(newton) and max_newton_steps > 0,
        max_newton_steps=max_newton_steps,
        auto_unique_tol=unique_tol == "auto",
        max_points=max_points,
        early_exit=bool(early_exit),
    )
    search = lambda u_, x0_: _search(model, u_, x0_, numbers, **structure)
    if u.ndim == 2:
        search = jax.vmap(search, in_axes=(0, 0 if x0.ndim == 3 else None))
    # Settings are static metadata of the result, attached outside the compiled search.
    return dataclasses.replace(search(u, x0), settings=tuple(settings.items()))


def _number(value):
    """A setting as a plain float for the record; None when absent or traced."""
    try:
        return None if value is None else float(value)
    except (TypeError, jax.errors.ConcretizationTypeError):
        return None


@eqx.filter_jit
def _search(
    model,
    u,
    x0,
    numbers,
    *,
    optimizer,
    newton,
    max_newton_steps,
    auto_unique_tol,
    max_points,
    early_exit,
):
    n_iters, learning_rate, tol_q, newton_tol_q, unique_tol, outlier_distance = (
        numbers[k]
        for k in (
            "n_iters",
            "learning_rate",
            "tol_q",
            "newton_tol_q",
            "unique_tol",
            "outlier_distance",
        )
    )
    with jax.default_matmul_precision("highest"):
        # Search in the dtype the dynamics compute in (float64 parameters win).
        u = u.astype(jnp.result_type(u.dtype, jnp.float32))
        out = jax.eval_shape(model.residual, x0[0].astype(jnp.result_type(x0, float)), u)
        x0 = x0.astype(jnp.result_type(x0.dtype, out.dtype, jnp.float32))

        def q_fn(h):
            f = model.residual(h, u)
            return 0.5 * jnp.sum(f**2)

        eps = jnp.finfo(x0.dtype).eps

        def tolerance(h):
            # Rounding alone leaves |F_i| ~ eps·max(|h_i|, 1): tol_q is raised to
            # 16× that floor, so float32 networks of 100+ units are not all "slow".
            floor = 0.5 * (4 * eps) ** 2 * jnp.sum(jnp.maximum(h**2, 1.0), axis=-1)
            return jnp.maximum(tol_q, floor)

        h, q = _minimise(q_fn, x0, n_iters, learning_rate, optimizer, tolerance, early_exit)
        if newton:
            h, q = _newton(model, u, q_fn, h, q, newton_tol_q, max_newton_steps)

        # Scale of the starts, from the finite ones (stored trajectories may hold NaN).
        ok = jnp.all(jnp.isfinite(x0), axis=-1)
        n_ok = jnp.maximum(ok.sum(), 1)
        centroid = jnp.where(ok[:, None], x0, 0.0).sum(0) / n_ok
        spread = jnp.where(ok, jnp.linalg.norm(x0 - centroid, axis=-1), 0.0).sum() / n_ok
        finite = jnp.isfinite(q) & jnp.all(jnp.isfinite(h), axis=-1)
        status = jnp.where(q <= tolerance(h), CONVERGED, jnp.where(q <= newton_tol_q, SLOW, FAILED))
        status = jnp.where(finite, status, FAILED)
        # A spread of zero (all starts equal) gives no scale: drop nothing.
        far = (jnp.linalg.norm(h - centroid, axis=-1) > outlier_distance * spread) & (spread > 0)
        status = jnp.where((status != FAILED) & far, OUTLIER, status).astype(jnp.int32)
        tol = unique_tol
        if auto_unique_tol:
            tol = REFERENCE_UNIQUE_TOL * jnp.where(spread > 0, spread, 1.0)
        points, valid, rep, cand_fp = deduplicate(h, q, status, tol, max_points)

        safe_rep = jnp.maximum(rep, 0)
        q_fp = jnp.where(valid, q[safe_rep], jnp.nan)
        slow = valid & (status[safe_rep] == SLOW)
        eigs, n_unstable, stability, vecs = linearise(
            model, jnp.where(valid[:, None], points, 0.0), valid, u
        )
        return FixedPoints(
            points=jnp.where(valid[:, None], points, jnp.nan),
            valid=valid,
            q=q_fp,
            slow=slow,
            eigenvalues=eigs,
            n_unstable=n_unstable,
            stability=stability,
            unstable_vector=vecs,
            attractors=jnp.full((max_points, 2), -1, jnp.int32),
            u=u,
            candidate_status=status,
            candidate_q=q,
            candidate_fp=cand_fp,
            continuous=isinstance(model, AbstractContinuousRNN),
        )


def _minimise(q_fn, x0, n_iters, learning_rate, optimizer, tolerance, early_exit):
    """Gradient descent on q from every candidate at once; each keeps its best iterate."""
    opt = optax.adam(learning_rate) if optimizer is None else optimizer
    x0 = jnp.asarray(x0)
    value_and_grad = jax.vmap(jax.value_and_grad(q_fn))

    def cond(carry):
        i, _, _, best_h, best_q = carry
        go = i < n_iters
        return (go & jnp.any(~(best_q <= tolerance(best_h)))) if early_exit else go

    def body(carry):
        i, h, opt_state, best_h, best_q = carry
        q, g = value_and_grad(h)
        better = q < best_q
        best_h = jnp.where(better[:, None], h, best_h)
        best_q = jnp.where(better, q, best_q)
        updates, opt_state = jax.vmap(opt.update)(g, opt_state, h)
        return i + 1, optax.apply_updates(h, updates), opt_state, best_h, best_q

    q0 = jax.vmap(q_fn)(x0)
    init = (jnp.asarray(0), x0, jax.vmap(opt.init)(x0), x0, jnp.where(jnp.isnan(q0), jnp.inf, q0))
    _, h, _, best_h, best_q = jax.lax.while_loop(cond, body, init)
    # The last update has not been scored yet.
    q = jax.vmap(q_fn)(h)
    better = q < best_q
    return jnp.where(better[:, None], h, best_h), jnp.where(better, q, best_q)


def _newton(model, u, q_fn, h, q, newton_tol_q, max_steps):
    """Newton-refine every candidate; keep the result where it improves a small q."""
    # Stop only at the rounding floor (|F| below eps everywhere), or after max_steps.
    eps = float(jnp.finfo(h.dtype).eps)
    solver = optx.Newton(rtol=eps, atol=eps)

    def refine(h0):
        sol = optx.root_find(
            lambda y, _: model.residual(y, u), solver, h0, max_steps=max_steps, throw=False
        )
        return sol.value

    h_new = jax.vmap(refine)(h)
    q_new = jax.vmap(q_fn)(h_new)
    take = (q <= newton_tol_q) & (q_new < q) & jnp.all(jnp.isfinite(h_new), axis=-1)
    return jnp.where(take[:, None], h_new, h), jnp.where(take, q_new, q)
