"""Dynamical Similarity Analysis against exact answers and known systems.

Exact facts used: an orthogonal change of the hidden basis (rotation or reflection)
changes the DMD operator only by an orthogonal similarity, so the DSA distance is 0; for
a generic A and an even rank, A and Qᵀ A Q with det Q = −1 are related only through
C = ±Q, both reflections, so a search over rotations alone cannot reach 0; the DMD
operator of a noise-free linear system x[t+1] = M x[t] (full rank, no delays) is similar
to M. Every DSA call uses rank 4 and one set of options, so the suite compiles each
function once.
"""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from neurodyn.analysis import (
    all_pairs,
    delay_embed,
    dsa_distance,
    dsa_null_distribution,
    fit_dmd,
    pairwise_dsa,
    spectral_distance,
)

RANK = 4
HIDDEN = 10
OPTIONS = dict(n_restarts=4, n_iters=100, n_refine=20)


def _simulate(step, key, n_trial=8, n_time=60, noise=0.05):
    k0, kn = jr.split(key)
    x0 = jr.normal(k0, (n_trial, 2))
    eps = noise * jr.normal(kn, (n_trial, n_time, 2))
    run = lambda x, e: jax.lax.scan(lambda x, e: (step(x) + e,) * 2, x, e)[1]
    return jax.vmap(run)(x0, eps)


def line_attractor(x):
    """One neutral direction (eigenvalue 1) and one decaying one."""
    return jnp.array([x[0], 0.8 * x[1]])


def limit_cycle(x):
    """Euler step of a Stuart–Landau oscillator: a stable circle of radius 1."""
    r2 = x @ x
    dx = jnp.array([x[0] - 0.3 * x[1], 0.3 * x[0] + x[1]]) - r2 * x
    return x + 0.2 * dx


def _haar(key, n, det):
    q, r = jnp.linalg.qr(jr.normal(key, (n, n)))
    q = q * jnp.sign(jnp.diag(r))
    return q.at[:, 0].multiply(jnp.sign(jnp.linalg.det(q)) * det)


def fit(X):
    return fit_dmd(X, rank=RANK, n_delays=2)


def dist(A_x, A_y, key):
    return dsa_distance(A_x, A_y, key=key, **OPTIONS)


@pytest.fixture(scope="module")
def systems():
    """Hidden trajectories [trial, time, hidden] of line attractors and a limit cycle."""
    keys = jr.split(jr.key(0), 6)
    readout = jr.normal(keys[0], (2, HIDDEN)) / jnp.sqrt(2.0)
    embed = lambda Z: jnp.tanh(Z @ readout)
    Q = _haar(keys[4], HIDDEN, -1.0)
    return {
        "line": embed(_simulate(line_attractor, keys[1])),
        # Another noise realisation, seen through a rotated-and-reflected hidden basis.
        "line_again": embed(_simulate(line_attractor, keys[2])) @ Q.T,
        "cycle": embed(_simulate(limit_cycle, keys[3])),
    }


def test_delay_embed_is_the_hankel_matrix():
    X = jnp.arange(12.0).reshape(6, 2)
    H = delay_embed(X, n_delays=3, delay_interval=2)
    expected = np.array([[*X[t], *X[t + 2], *X[t + 4]] for t in range(2)])
    np.testing.assert_array_equal(H, expected)
    np.testing.assert_array_equal(delay_embed(X, 1), X)
    with pytest.raises(ValueError, match="too short for n_delays=4"):
        delay_embed(X, n_delays=4, delay_interval=2)
    with pytest.raises(ValueError, match="n_delays must be an integer >= 1, got 0"):
        delay_embed(X, n_delays=0)


def test_fit_dmd_recovers_a_linear_system():
    M = jnp.array([[0.9, -0.3, 0.0], [0.3, 0.9, 0.0], [0.0, 0.1, 0.5]])
    x0 = jr.normal(jr.key(1), (4, 3))
    run = lambda x: jax.lax.scan(lambda x, _: (M @ x, M @ x), x, None, length=20)[1]
    A = fit_dmd(jax.vmap(run)(x0), rank=3)
    assert float(spectral_distance(A, M)) < 1e-4
    with pytest.raises(ValueError, match="rank=7 exceeds the embedding's size"):
        fit_dmd(jax.vmap(run)(x0), rank=7, n_delays=2)
    with pytest.raises(ValueError, match=r"ridge=-1.0 is outside the allowed range \[0, inf\)"):
        fit_dmd(jax.vmap(run)(x0), rank=3, ridge=-1.0)


def test_spectral_distance_matches_an_optimal_matching():
    A = jnp.diag(jnp.array([0.1, 0.5, 0.9]))
    B = jnp.diag(jnp.array([0.85, 0.0, 0.6]))
    # Sorted matching 0.1↔0.0, 0.5↔0.6, 0.9↔0.85: mean |difference| = (0.1 + 0.1 + 0.05) / 3.
    assert float(spectral_distance(A, B)) == pytest.approx(0.25 / 3, abs=1e-6)
    rotation = jnp.array([[0.0, -1.0], [1.0, 0.0]])  # eigenvalues ±i
    assert float(spectral_distance(rotation, jnp.diag(jnp.array([1.0, -1.0])))) == pytest.approx(
        np.sqrt(2.0), abs=1e-6
    )


@pytest.mark.parametrize("det", [1.0, -1.0])
def test_distance_is_zero_under_orthogonal_change_of_basis(systems, det):
    X = systems["line"]
    Q = _haar(jr.key(7), HIDDEN, det)
    result = dist(fit(X), fit(X @ Q.T), jr.key(3))
    assert float(result.distance) < 1e-3
    assert float(result.angle) < 1e-3
    C = result.transform
    np.testing.assert_allclose(C @ C.T, np.eye(RANK), atol=1e-5)


def test_search_reaches_the_reflection_component():
    """With det Q = −1 and an even rank, the optimum C = ±Q is a reflection."""
    A = jr.normal(jr.key(11), (RANK, RANK)) / 2.0
    Q = _haar(jr.key(12), RANK, -1.0)
    result = dist(A, Q.T @ A @ Q, jr.key(13))
    assert float(result.distance) < 1e-3
    assert float(jnp.linalg.det(result.transform)) == pytest.approx(-1.0, abs=1e-4)


def test_distance_is_symmetric_nonnegative_and_separates_systems(systems):
    A = {name: fit(X) for name, X in systems.items()}
    same = dist(A["line"], A["line_again"], jr.key(0))
    back = dist(A["line_again"], A["line"], jr.key(1))
    other = dist(A["line"], A["cycle"], jr.key(2))
    assert float(same.distance) >= 0.0 and float(other.distance) >= 0.0
    assert float(same.distance) == pytest.approx(float(back.distance), rel=1e-3, abs=1e-5)
    assert float(same.angle) == pytest.approx(float(back.angle), rel=1e-3, abs=1e-5)
    assert float(other.distance) > 2.0 * float(same.distance)
    assert float(other.angle) > 2.0 * float(same.angle)
    assert float(spectral_distance(A["line"], A["cycle"])) > 2.0 * float(
        spectral_distance(A["line"], A["line_again"])
    )


def test_pairwise_dsa_equals_per_pair(systems):
    ops = jnp.stack([fit(X) for X in systems.values()])
    pairs = all_pairs(3)
    key = jr.key(5)
    batched = pairwise_dsa(ops, pairs, key=key, batch_size=2, **OPTIONS)
    assert batched.distance.shape == (3,)
    for p, (k, (i, j)) in enumerate(zip(jr.split(key, 3), pairs)):
        # dsa_scores is dsa_distance plus spectral_distance; calling those reuses their compiles.
        single = dist(ops[i], ops[j], k)
        spectral = spectral_distance(ops[i], ops[j])
        for got, want in [
            (batched.distance[p], single.distance),
            (batched.angle[p], single.angle),
            (batched.spectral[p], spectral),
        ]:
            assert float(got) == pytest.approx(float(want), rel=1e-3, abs=1e-5)


def test_null_distribution_has_one_score_per_split(systems):
    null = dsa_null_distribution(
        systems["line"], rank=RANK, n_delays=2, n_splits=3, key=jr.key(9), **OPTIONS
    )
    assert null.distance.shape == null.angle.shape == null.spectral.shape == (3,)
    assert bool(jnp.all(jnp.isfinite(null.distance)) & jnp.all(null.distance >= 0))
    with pytest.raises(ValueError, match="need at least 2 trials to split"):
        dsa_null_distribution(systems["line"][:1], rank=RANK, key=jr.key(0))


def test_mismatched_operators_are_refused():
    with pytest.raises(ValueError, match="must be square operators of the same rank"):
        dsa_distance(jnp.eye(3), jnp.eye(4), key=jr.key(0))
