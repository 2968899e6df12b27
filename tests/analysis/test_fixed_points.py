"""Fixed-point search on systems with exact answers (test-local models)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from neurodyn.analysis import (
    FixedPoints,
    connect_saddles,
    find_fixed_points,
    jacobian,
    sample_initial_states,
)
from neurodyn.analysis._fixed_points import CONVERGED, OUTLIER, SADDLE, STABLE, UNSTABLE
from neurodyn.models import AbstractContinuousRNN, AbstractDiscreteRNN


class LinearMap(AbstractDiscreteRNN):
    """h -> A h + b + B u."""

    A: jax.Array
    b: jax.Array
    B: jax.Array
    input_size: int = eqx.field(static=True, default=1)
    hidden_size: int = eqx.field(static=True, default=3)
    output_size: int = eqx.field(static=True, default=1)

    def step(self, state, u, *, key=None):
        return self.A @ state + self.b + self.B @ u

    def readout(self, state):
        return state[:1]


class LinearFlow(AbstractContinuousRNN):
    """dh/dt = A h + b + B u."""

    A: jax.Array
    b: jax.Array
    B: jax.Array
    input_size: int = eqx.field(static=True, default=1)
    hidden_size: int = eqx.field(static=True, default=3)
    output_size: int = eqx.field(static=True, default=1)
    dt: float = eqx.field(static=True, default=0.1)
    solver: str = eqx.field(static=True, default="euler")

    def vector_field(self, t, state, u):
        return self.A @ state + self.b + self.B @ u

    def readout(self, state):
        return state[:1]


class Bistable(AbstractContinuousRNN):
    """dx/dt = a x − x³, dy/dt = −y + x²/2: attractors (±√a, a/2), saddle at 0."""

    a: jax.Array
    input_size: int = eqx.field(static=True, default=1)
    hidden_size: int = eqx.field(static=True, default=2)
    output_size: int = eqx.field(static=True, default=2)
    dt: float = eqx.field(static=True, default=0.1)
    solver: str = eqx.field(static=True, default="heun")

    def vector_field(self, t, state, u):
        x, y = state
        return jnp.stack([self.a * x - x**3 + u[0], -y + 0.5 * x**2])

    def readout(self, state):
        return state


def _tanh_weights(n, gain, key):
    kw, kb, ku = jr.split(key, 3)
    W = gain * jr.normal(kw, (n, n)) / np.sqrt(n)
    return dict(W=W, b=0.2 * jr.normal(kb, (n,)), B=jr.normal(ku, (n, 1)), hidden_size=n)


class TanhMap(AbstractDiscreteRNN):
    """h -> tanh(W h + b + B u), a vanilla RNN."""

    W: jax.Array
    b: jax.Array
    B: jax.Array
    hidden_size: int = eqx.field(static=True)
    input_size: int = eqx.field(static=True, default=1)
    output_size: int = eqx.field(static=True, default=1)

    def step(self, state, u, *, key=None):
        return jnp.tanh(self.W @ state + self.b + self.B @ u)

    def readout(self, state):
        return state[:1]


class TanhFlow(AbstractContinuousRNN):
    """dh/dt = −h + tanh(W h + b + B u), a CTRNN."""

    W: jax.Array
    b: jax.Array
    B: jax.Array
    hidden_size: int = eqx.field(static=True)
    input_size: int = eqx.field(static=True, default=1)
    output_size: int = eqx.field(static=True, default=1)
    dt: float = eqx.field(static=True, default=0.1)
    solver: str = eqx.field(static=True, default="euler")

    def vector_field(self, t, state, u):
        return -state + jnp.tanh(self.W @ state + self.b + self.B @ u)

    def readout(self, state):
        return state[:1]


class Identity(AbstractDiscreteRNN):
    """h -> h: every state is a fixed point, so deduplication is pure geometry."""

    input_size: int = eqx.field(static=True, default=1)
    hidden_size: int = eqx.field(static=True, default=2)
    output_size: int = eqx.field(static=True, default=2)

    def step(self, state, u, *, key=None):
        return state

    def readout(self, state):
        return state


FAST = dict(n_iters=1000, learning_rate=3e-2)


def _valid(fps, name):
    return np.asarray(getattr(fps, name))[np.asarray(fps.valid)]


def test_linear_discrete_map_point_is_solution_of_linear_system():
    # One unstable mode (eigenvalue 1.5): a saddle, which plain descent on q finds too.
    Q = jr.normal(jr.key(0), (3, 3)) + 2 * jnp.eye(3)
    A = Q @ jnp.diag(jnp.array([0.5, -0.3, 1.5])) @ jnp.linalg.inv(Q)
    b, B = jr.normal(jr.key(1), (3,)), jr.normal(jr.key(2), (3, 1))
    model = LinearMap(A, b, B, hidden_size=3)
    u = jnp.array([0.7])
    fps = find_fixed_points(model, u, jr.normal(jr.key(3), (16, 3)), **FAST)
    expected = np.linalg.solve(np.eye(3) - np.asarray(A), np.asarray(b + B @ u))
    assert int(fps.count) == 1
    np.testing.assert_allclose(fps.points[0], expected, rtol=1e-4, atol=1e-5)
    assert (np.asarray(fps.candidate_status) == CONVERGED).all()
    # Eigenvalues of the step map's Jacobian A, most unstable (largest |λ|) first.
    np.testing.assert_allclose(np.real(fps.eigenvalues[0]), [1.5, 0.5, -0.3], atol=1e-4)
    assert int(fps.n_unstable[0]) == 1 and int(fps.stability[0]) == SADDLE
    v = np.asarray(fps.unstable_vector[0])
    np.testing.assert_allclose(np.asarray(A) @ v, 1.5 * v, atol=1e-4)


def test_linear_continuous_system_point_is_minus_A_inverse_b():
    A = -jnp.eye(3) + 0.3 * jr.normal(jr.key(0), (3, 3))
    b, B = jr.normal(jr.key(1), (3,)), jr.normal(jr.key(2), (3, 1))
    model = LinearFlow(A, b, B, hidden_size=3)
    # Several constant inputs at once: a leading axis, one search per input.
    us = jnp.array([[0.0], [1.0], [-2.0]])
    fps = find_fixed_points(model, us, jr.normal(jr.key(3), (16, 3)), **FAST)
    assert fps.batch_shape == (3,)
    for k, u in enumerate(np.asarray(us)):
        expected = -np.linalg.solve(np.asarray(A), np.asarray(b) + np.asarray(B) @ u)
        assert int(fps.count[k]) == 1
        np.testing.assert_allclose(fps.points[k, 0], expected, rtol=1e-4, atol=1e-5)
        np.testing.assert_array_equal(fps.u[k], u)
    lam = np.sort_complex(np.asarray(fps.eigenvalues[0, 0]))
    np.testing.assert_allclose(lam, np.sort_complex(np.linalg.eigvals(np.asarray(A))), atol=1e-4)
    expected_stability = STABLE if np.all(lam.real < 0) else SADDLE
    assert int(fps.stability[0, 0]) == expected_stability


@pytest.fixture(scope="module")
def bistable():
    model = Bistable(a=jnp.asarray(1.0))
    x0 = jr.uniform(jr.key(0), (64, 2), minval=-1.5, maxval=1.5)
    fps = find_fixed_points(model, jnp.zeros(1), x0, max_points=8, **FAST)
    return model, x0, connect_saddles(model, fps)


def test_bistable_two_attractors_and_a_saddle_between_them(bistable):
    model, _, fps = bistable
    assert int(fps.count) == 3
    points = _valid(fps, "points")
    order = np.argsort(points[:, 0])
    np.testing.assert_allclose(points[order], [[-1, 0.5], [0, 0], [1, 0.5]], atol=1e-6)
    stability = _valid(fps, "stability")[order]
    np.testing.assert_array_equal(stability, [STABLE, SADDLE, STABLE])
    np.testing.assert_array_equal(_valid(fps, "n_unstable")[order], [0, 1, 0])
    # Saddle at the origin: eigenvalues 1 and -1, unstable direction ±x.
    saddle = int(np.flatnonzero(np.asarray(fps.stability) == SADDLE)[0])
    np.testing.assert_allclose(np.real(fps.eigenvalues[saddle]), [1.0, -1.0], atol=1e-5)
    np.testing.assert_allclose(np.abs(fps.unstable_vector[saddle]), [1.0, 0.0], atol=1e-5)
    # Both attractors: eigenvalues -1 and -2.
    for i in np.flatnonzero(np.asarray(fps.stability) == STABLE):
        np.testing.assert_allclose(np.real(fps.eigenvalues[i]), [-1.0, -2.0], atol=1e-5)
    # The saddle connects to both attractors, one on each side.
    attractors = np.asarray(fps.attractors)
    stable = set(np.flatnonzero(np.asarray(fps.stability) == STABLE).tolist())
    assert set(attractors[saddle].tolist()) == stable
    assert (np.delete(attractors, saddle, axis=0) == -1).all()
    assert not np.asarray(fps.slow).any()
    text = str(fps)
    assert "2 stable, 1 saddles (1 with one unstable mode, 2 of their sides connected)" in text


def test_repeller_is_classified_unstable():
    # dx/dt = +x (both modes unstable at the origin): descent on q still finds it.
    model = LinearFlow(jnp.eye(2), jnp.zeros(2), jnp.zeros((2, 1)), hidden_size=2)
    fps = find_fixed_points(model, jnp.zeros(1), jr.normal(jr.key(0), (8, 2)), **FAST)
    assert int(fps.count) == 1 and int(fps.stability[0]) == UNSTABLE
    assert int(fps.n_unstable[0]) == 2


@pytest.mark.parametrize("cls", [TanhMap, TanhFlow])
def test_autodiff_jacobian_matches_finite_differences(cls):
    with jax.enable_x64(True):
        model = cls(**_tanh_weights(5, 1.5, jr.key(0)))
        h, u = jr.normal(jr.key(1), (5,)), jnp.array([0.3])
        step = (lambda x: x + model.residual(x, u)) if cls is TanhMap else (
            lambda x: model.residual(x, u)
        )
        eps = 1e-6
        fd = np.stack(
            [(step(h + eps * e) - step(h - eps * e)) / (2 * eps) for e in jnp.eye(5)], axis=1
        )
        np.testing.assert_allclose(jacobian(model, h, u), fd, rtol=1e-8, atol=1e-9)


def test_deduplication_absolute_and_auto_tolerances():
    # With h -> h every candidate is a fixed point where it starts.
    offsets = jnp.array([[0.0, 0.0], [0.5e-3, 0.0], [2e-3, 0.0], [1.0, 1.0], [1.0, 1.0002]])
    run = lambda x, tol: find_fixed_points(
        Identity(), jnp.zeros(1), x, n_iters=0, newton=False, unique_tol=tol
    )
    fps = run(offsets, 1e-3)
    assert int(fps.count) == 3
    np.testing.assert_array_equal(fps.candidate_fp, [0, 0, 1, 2, 2])
    assert int(run(offsets, 1e-4).count) == 5
    assert int(run(offsets, 0.0).count) == 5
    # "auto": 1e-3 × the mean distance of the initial states from their centroid.
    spread = float(np.linalg.norm(offsets - offsets.mean(0), axis=1).mean())
    assert 0.7 < spread < 0.8  # auto tolerance ≈ 7.3e-4: the same 3 groups
    assert int(run(offsets, "auto").count) == 3
    # Scaled up 100×: the absolute tolerance keeps all five, "auto" scales along.
    assert int(run(100 * offsets, 1e-3).count) == 5
    assert int(run(100 * offsets, "auto").count) == 3


def test_outliers_dropped_and_max_points_overflow_reported():
    # The only fixed point lies at 1000·e1, far beyond 10× the spread of the starts.
    model = LinearMap(0.5 * jnp.eye(2), jnp.array([500.0, 0.0]), jnp.zeros((2, 1)), hidden_size=2)
    x0 = jr.normal(jr.key(0), (8, 2))
    fps = find_fixed_points(model, jnp.zeros(1), x0, **FAST)
    assert int(fps.count) == 0
    assert (np.asarray(fps.candidate_status) == OUTLIER).all()
    kept = find_fixed_points(model, jnp.zeros(1), x0, outlier_distance=None, **FAST)
    np.testing.assert_allclose(kept.points[0], [1000.0, 0.0], rtol=1e-6)
    # Five distinct points, two slots: three candidates find no room, and the summary says so.
    many = find_fixed_points(
        Identity(), jnp.zeros(1), jnp.arange(10.0).reshape(5, 2), n_iters=0, max_points=2
    )
    assert many.valid.shape == (2,) and int(many.count) == 2
    assert many.summary().n_dropped == 3 and "raise max_points" in str(many)


def test_q_reaches_the_float64_floor_after_newton_and_float32_floor_is_documented():
    x0 = 0.5 * jr.normal(jr.key(2), (32, 16))
    with jax.enable_x64(True):
        model = TanhMap(**_tanh_weights(16, 1.2, jr.key(0)))
        fps = find_fixed_points(model, jnp.zeros(1), x0.astype(jnp.float64), **FAST)
        q = np.asarray(fps.candidate_q)[np.asarray(fps.candidate_status) == CONVERGED]
        assert fps.points.dtype == jnp.float64 and q.size > 16
        assert q.max() < 1e-28  # float64 floor (measured ~1e-31 for 16 units)
        adam_only = find_fixed_points(model, jnp.zeros(1), x0, newton=False, tol_q=0.0, **FAST)
        assert np.median(np.asarray(adam_only.candidate_q)) > 1e3 * q.max()
    model = TanhMap(**_tanh_weights(16, 1.2, jr.key(0)))
    fps = find_fixed_points(model, jnp.zeros(1), x0, **FAST)
    q = np.asarray(fps.candidate_q)[np.asarray(fps.candidate_status) == CONVERGED]
    # float32 floor: rounding leaves q ~ N·eps²/2 (measured 2e-15..4e-14 for 16 units).
    assert fps.points.dtype == jnp.float32 and q.size > 16
    assert q.max() < 16 * np.finfo(np.float32).eps ** 2 * 8


def test_vmapped_over_members_equals_per_member(bistable):
    _, x0, _ = bistable
    a = jnp.array([0.5, 1.0, 2.0])
    models = eqx.filter_vmap(lambda a: Bistable(a=a))(a)
    starts = jnp.stack([x0, 0.8 * x0, x0[::-1]])

    def analyse(model, x):
        fps = find_fixed_points(model, jnp.zeros(1), x, max_points=8, **FAST)
        return connect_saddles(model, fps)

    batched = eqx.filter_vmap(analyse)(models, starts)
    assert batched.batch_shape == (3,)
    for k in range(3):
        single = analyse(Bistable(a=a[k]), starts[k])
        one = batched[k]
        for name in ("valid", "stability", "n_unstable", "attractors", "candidate_status",
                     "candidate_fp", "slow"):
            np.testing.assert_array_equal(getattr(one, name), getattr(single, name), err_msg=name)
        for name in ("points", "eigenvalues", "unstable_vector"):
            np.testing.assert_allclose(
                getattr(one, name), getattr(single, name), atol=1e-6, err_msg=name
            )
        root = float(np.sqrt(a[k]))
        assert sorted(np.round(_valid(one, "points")[:, 0], 5).tolist()) == [-root, 0.0, root]
    assert str(batched).startswith("FixedPoints (continuous over 3 models")


def test_sample_initial_states():
    states = jnp.arange(60.0).reshape(3, 10, 2)  # [trial, time, state]
    picked = sample_initial_states(states, 50, noise_scale=0.0, key=jr.key(0))
    assert picked.shape == (50, 2)
    rows = {tuple(r) for r in np.asarray(states).reshape(-1, 2).tolist()}
    assert all(tuple(r) in rows for r in np.asarray(picked).tolist())
    a = sample_initial_states(states, 4000, key=jr.key(1))
    b = sample_initial_states(states, 4000, key=jr.key(1))
    np.testing.assert_array_equal(a, b)
    # Noise standard deviation 0.5 (default): within 5 standard errors of its estimate.
    zero = sample_initial_states(jnp.zeros((1, 3)), 4000, key=jr.key(2))
    sd = float(np.std(np.asarray(zero)))
    assert abs(sd - 0.5) < 5 * 0.5 / np.sqrt(2 * 12000)


def test_errors_name_the_argument_and_the_fix(bistable):
    model, x0, fps = bistable
    with pytest.raises(ValueError, match=r"u must have shape \[input\].*input = 1.*jnp.zeros\(1\)"):
        find_fixed_points(model, jnp.zeros(3), x0)
    with pytest.raises(ValueError, match=r"initial_states must have shape.*state = 2"):
        find_fixed_points(model, jnp.zeros(1), x0[:, :1])
    with pytest.raises(ValueError, match=r"unique_tol must be a number >= 0 or 'auto', got 'big'"):
        find_fixed_points(model, jnp.zeros(1), x0, unique_tol="big")
    with pytest.raises(ValueError, match=r"max_points must be an integer >= 1, got 0"):
        find_fixed_points(model, jnp.zeros(1), x0, max_points=0)
    with pytest.raises(TypeError, match=r"model must be a neurodyn model, got function"):
        find_fixed_points(lambda h: h, jnp.zeros(1), x0)
    stacked = jax.tree_util.tree_map(lambda x: jnp.stack([x, x]), fps)
    with pytest.raises(ValueError, match=r"leading axes \(2,\); pass one model's result"):
        connect_saddles(model, stacked)
    with pytest.raises(IndexError, match="no leading member or input axis"):
        fps[0]
    assert isinstance(stacked[1], FixedPoints)
