"""Fixed-point search on systems with exact answers (test-local models)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import matplotlib
import numpy as np
import pytest
import xarray as xr

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from neurodyn.analysis import (
    FixedPoints,
    connect_saddles,
    find_fixed_points,
    fixed_points_from_dataset,
    fixed_points_to_dataset,
    jacobian,
    plot_eigenvalues,
    plot_fixed_points,
    sample_initial_states,
)
from neurodyn.analysis._fixed_points._points import (
    CONVERGED,
    FAILED,
    OUTLIER,
    SADDLE,
    STABLE,
    UNSTABLE,
)
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
    # Three members (stable, saddle, repeller) × three constant inputs, in one call.
    Q = jr.normal(jr.key(0), (3, 3)) + 2 * jnp.eye(3)
    spectra = jnp.array([[-1.0, -0.5, -2.0], [0.7, -0.5, -2.0], [0.7, 0.5, 2.0]])
    As = jax.vmap(lambda lam: Q @ jnp.diag(lam) @ jnp.linalg.inv(Q))(spectra)
    b, B = jr.normal(jr.key(1), (3,)), jr.normal(jr.key(2), (3, 1))
    models = eqx.filter_vmap(lambda A: LinearFlow(A, b, B, hidden_size=3))(As)
    us = jnp.array([[0.0], [1.0], [-2.0]])
    x0 = jr.normal(jr.key(3), (16, 3))
    fps = eqx.filter_vmap(lambda m: find_fixed_points(m, us, x0, **FAST))(models)
    assert fps.batch_shape == (3, 3)
    for m, A in enumerate(np.asarray(As)):
        for k, u in enumerate(np.asarray(us)):
            expected = -np.linalg.solve(A, np.asarray(b) + np.asarray(B) @ u)
            assert int(fps.count[m, k]) == 1
            np.testing.assert_allclose(fps.points[m, k, 0], expected, rtol=1e-4, atol=1e-5)
            np.testing.assert_array_equal(fps.u[m, k], u)
            # Continuous: the eigenvalues of A, most unstable (largest Re λ) first.
            lam = np.sort(np.asarray(spectra[m]))[::-1]
            np.testing.assert_allclose(np.real(fps.eigenvalues[m, k, 0]), lam, atol=1e-4)
    np.testing.assert_array_equal(
        fps.stability[:, :, 0], [[STABLE] * 3, [SADDLE] * 3, [UNSTABLE] * 3]
    )
    np.testing.assert_array_equal(fps.n_unstable[:, :, 0], [[0] * 3, [1] * 3, [3] * 3])


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


@pytest.mark.parametrize("cls", [TanhMap, TanhFlow])
def test_autodiff_jacobian_matches_finite_differences(cls):
    with jax.enable_x64(True):
        model = cls(**_tanh_weights(5, 1.5, jr.key(0)))
        h, u = jr.normal(jr.key(1), (5,)), jnp.array([0.3])
        step = (
            (lambda x: x + model.residual(x, u))
            if cls is TanhMap
            else (lambda x: model.residual(x, u))
        )
        # Central differences in float64: truncation and rounding errors ~1e-10.
        eps = 1e-6
        fd = jax.jit(jax.vmap(lambda e: (step(h + eps * e) - step(h - eps * e)) / (2 * eps)))
        np.testing.assert_allclose(jacobian(model, h, u), fd(jnp.eye(5)).T, rtol=1e-8, atol=1e-9)


def test_deduplication_tolerances_and_overflow():
    # With h -> h every candidate is a fixed point where it starts; the NaN start (as
    # from a diverged stored trajectory) fails and leaves the scale of the others alone.
    offsets = jnp.array(
        [[0.0, 0.0], [0.5e-3, 0.0], [2e-3, 0.0], [1.0, 1.0], [1.0, 1.0002], [jnp.nan, 0.0]]
    )
    run = lambda x, tol: find_fixed_points(
        Identity(), jnp.zeros(1), x, n_iters=0, newton=False, unique_tol=tol, max_points=4
    )
    fps = run(offsets, 1e-3)
    assert int(fps.count) == 3
    np.testing.assert_array_equal(fps.candidate_fp, [0, 0, 1, 2, 2, -1])
    np.testing.assert_array_equal(fps.candidate_status, [CONVERGED] * 5 + [FAILED])
    # "auto": 1e-3 × the mean distance of the initial states from their centroid.
    finite = np.asarray(offsets[:5])
    spread = float(np.linalg.norm(finite - finite.mean(0), axis=1).mean())
    assert 0.6 < spread < 0.8  # auto tolerance ≈ 6.8e-4: the same 3 groups
    assert int(run(offsets, "auto").count) == 3
    # Scaled up 100×: "auto" scales along; the absolute 1e-3 splits every point, and
    # five distinct points do not fit four slots: the summary says so.
    assert int(run(100 * offsets, "auto").count) == 3
    crowded = run(100 * offsets, 1e-3)
    assert int(crowded.count) == 4 and crowded.summary().n_dropped == 1
    assert "1 converged or slow candidates found no free slot; raise max_points" in str(crowded)
    assert int(run(offsets, 0.0).count) == 4


def test_outliers_are_dropped():
    # The only fixed point lies at 10·e1, beyond 10× the spread of the starts (~0.45).
    model = LinearMap(0.5 * jnp.eye(3), jnp.array([5.0, 0, 0]), jnp.zeros((3, 1)), hidden_size=3)
    x0 = 0.3 * jr.normal(jr.key(0), (16, 3))
    fps = find_fixed_points(model, jnp.zeros(1), x0, **FAST)
    assert int(fps.count) == 0
    assert (np.asarray(fps.candidate_status) == OUTLIER).all()
    assert "16 outliers" in str(fps)
    kept = find_fixed_points(model, jnp.zeros(1), x0, outlier_distance=None, **FAST)
    np.testing.assert_allclose(kept.points[0], [10.0, 0.0, 0.0], rtol=1e-6)


def test_q_reaches_the_float64_floor_after_newton():
    # The float32 floor is checked on the trained flip-flop network
    # (test_fixed_points_models.py), which runs in float32 anyway.
    with jax.enable_x64(True):
        model = TanhMap(**_tanh_weights(16, 1.2, jr.key(0)))
        x0 = 0.5 * jr.normal(jr.key(2), (32, 16))
        fps = find_fixed_points(model, jnp.zeros(1), x0, **FAST)
        q = np.asarray(fps.candidate_q)[np.asarray(fps.candidate_status) == CONVERGED]
        # Newton lands at the float64 floor (measured 2e-32..2e-31 for 16 units); a
        # candidate that starts far from a root may still be on its way after
        # max_newton_steps (q ~ 1e-18: converged, not yet at the floor).
        assert fps.points.dtype == jnp.float64
        assert (q < 1e-28).sum() >= 8 and np.median(q) < 1e-28


def _analyse(model, x0):
    fps = find_fixed_points(model, jnp.zeros(1), x0, max_points=8, **FAST)
    return connect_saddles(model, fps)


@pytest.fixture(scope="module")
def bistable_members(bistable):
    _, x0, _ = bistable
    a = jnp.array([0.5, 1.0, 2.0])
    models = eqx.filter_vmap(lambda a: Bistable(a=a))(a)
    starts = jnp.stack([x0, 0.8 * x0, x0[::-1]])
    return a, starts, eqx.filter_vmap(_analyse)(models, starts)


def test_vmapped_over_members_equals_per_member(bistable_members):
    a, starts, batched = bistable_members
    assert batched.batch_shape == (3,)
    for k in range(3):
        single = _analyse(Bistable(a=a[k]), starts[k])
        one = batched[k]
        for name in (
            "valid",
            "stability",
            "n_unstable",
            "attractors",
            "candidate_status",
            "candidate_fp",
            "slow",
        ):
            np.testing.assert_array_equal(getattr(one, name), getattr(single, name), err_msg=name)
        for name in ("points", "eigenvalues", "unstable_vector"):
            np.testing.assert_allclose(
                getattr(one, name), getattr(single, name), atol=1e-6, err_msg=name
            )
        root = float(np.sqrt(a[k]))
        np.testing.assert_allclose(
            np.sort(_valid(one, "points")[:, 0]), [-root, 0, root], atol=1e-6
        )
    assert str(batched).startswith("FixedPoints (continuous over 3 models")


def test_dataset_round_trip(bistable_members, tmp_path):
    _, _, fps = bistable_members
    ds = fixed_points_to_dataset(fps)
    assert ds["points"].dims == ("member", "fp", "state")
    assert ds["eigenvalues_real"].dims == ("member", "fp", "eig")
    np.testing.assert_array_equal(ds["n_points"], [3, 3, 3])
    assert ds["stability"].dtype == np.int32 and (ds["stability"].values[:, 3:] == -1).all()
    assert ds["valid"].dtype == bool and ds["attractor_plus"].dtype == np.int32
    assert int(ds["has_unstable_vector"].sum()) == 3
    assert ds.attrs["settings"]["tol_q"] == 1e-12 and ds.attrs["continuous"] is True
    back = fixed_points_from_dataset(ds)
    xr.testing.assert_identical(fixed_points_to_dataset(back), ds)
    np.testing.assert_array_equal(back.eigenvalues, np.asarray(fps.eigenvalues))
    # And through zarr: integers stay integers, NaN fills stay NaN.
    ds.to_zarr(tmp_path / "fp.zarr", consolidated=False)
    xr.testing.assert_identical(xr.open_zarr(tmp_path / "fp.zarr", consolidated=False).load(), ds)
    # One model: no leading axis; several leading axes need names.
    single = fixed_points_to_dataset(fps[1])
    assert "member" not in single.dims and int(single["n_points"]) == 3
    two = jax.tree_util.tree_map(lambda x: jnp.stack([x, x]), fps)
    with pytest.raises(ValueError, match=r"2 leading axes \(2, 3\); name them"):
        fixed_points_to_dataset(two)
    assert fixed_points_to_dataset(two, lead_dims=("condition", "member"))["q"].dims == (
        "condition",
        "member",
        "fp",
    )


def test_figures(bistable):
    model, _, fps = bistable
    inputs = jnp.zeros((30, 1))
    starts = jnp.array([[0.1, 0.0], [-0.1, 0.3], [1.5, 1.0], [-1.5, -1.0]])
    states = jax.vmap(lambda h: model(inputs, state0=h).state)(starts)
    fig = plot_fixed_points(fps, states)
    ax = fig.axes[0]
    labels = ax.get_legend_handles_labels()[1]
    assert labels == ["stable", "saddle"]
    assert len([line for line in ax.lines if line.get_linestyle() == "--"]) == 2
    fig3 = plot_fixed_points(fps, states, n_components=3)
    fig_eig = plot_eigenvalues(fps)
    assert fig_eig.axes[0].get_xlabel() == "Re λ"
    with pytest.raises(ValueError, match=r"plot one model at a time, e.g. fixed_points\[i\]"):
        plot_eigenvalues(jax.tree_util.tree_map(lambda x: jnp.stack([x, x]), fps))
    for f in (fig, fig3, fig_eig):
        plt.close(f)


def test_sample_initial_states():
    states = jnp.arange(60.0).reshape(3, 10, 2)  # [trial, time, state]
    states = states.at[1, 3].set(jnp.nan)  # a NaN row is never picked
    picked = sample_initial_states(states, 4000, noise_scale=0.0, key=jr.key(0))
    assert picked.shape == (4000, 2) and np.isfinite(np.asarray(picked)).all()
    rows = {tuple(r) for r in np.asarray(states).reshape(-1, 2).tolist()}
    assert all(tuple(r) in rows for r in np.asarray(picked).tolist())
    noisy = sample_initial_states(states, 4000, key=jr.key(0))
    np.testing.assert_array_equal(noisy, sample_initial_states(states, 4000, key=jr.key(0)))
    # Same key, same picks: the difference is the noise, of standard deviation 0.5 by
    # default (within 5 standard errors of its estimate).
    sd = float(np.std(np.asarray(noisy - picked)))
    assert abs(sd - 0.5) < 5 * 0.5 / np.sqrt(2 * 8000)


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
