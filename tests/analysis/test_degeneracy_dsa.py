"""Dynamical Similarity Analysis against exact answers and known systems.

Exact facts used: an orthogonal change of the hidden basis (rotation or reflection)
changes the DMD operator only by an orthogonal similarity, so the DSA distance is 0; for
a generic A and an even rank, A and Qᵀ A Q with det Q = −1 are related only through
C = ±Q, both reflections, so a search over rotations alone cannot reach 0; the DMD
operator of a noise-free linear system x[t+1] = M x[t] (full rank, no delays) is similar
to M. For normal operators (here block-diagonal rotations and diagonals) the minimum
over O(n) is the Hoffman–Wielandt bound min_σ Σ|λ_i − μ_σ(i)|², reached by an explicit
C, so every score has a closed form. Least squares is equivariant under the change to
whitened coordinates z̃ = S⁻¹z, so the whitened operator is S⁻¹ A S. Every DSA call
uses rank 4 and one set of options, so the suite compiles each function once.
"""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
import pytest

import neurodyn
from neurodyn.analysis import (
    DSA_SCORES,
    all_pairs,
    degeneracy,
    delay_embed,
    dsa_distance,
    dsa_null_distribution,
    explained_variance_rank,
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
        wasserstein = spectral_distance(ops[i], ops[j], squared=True)
        for got, want in [
            (batched.distance[p], single.distance),
            (batched.angle[p], single.angle),
            (batched.euclidean[p], single.euclidean),
            (batched.spectral[p], spectral),
            (batched.wasserstein[p], wasserstein),
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


def _rotation(angle):
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s], [s, c]])


def _blocks(a, b):
    out = np.zeros((4, 4))
    out[:2, :2], out[2:, 2:] = a, b
    return out


_DIAG = np.diag([0.9, 0.5, 0.2, -0.3])
# Closed forms (√3 = s3): rotation blocks, matched block by block; the first pair only
# through a reflection (C R(−π/3) Cᵀ = R(π/3)), the second only through a rotation, so
# every optimal C has det −1:
#   distance² = 2(1.06 − 0.45 s3) + 2(0.2 − 0.08 s3) = 2.52 − 1.06 s3,
#   angle = arccos(0.53 s3 / √(1.94 · 0.58)), euclidean = √(2 − 2 cos angle),
#   spectral = (√(1.06 − 0.45 s3) + √(0.2 − 0.08 s3)) / 2, wasserstein = distance² / 4.
# Diagonals, matched in sorted order, every pair 0.1 apart: distance = 0.2,
#   angle = arccos(1 / √(1.19 · 0.85)), spectral = 0.1, wasserstein = 0.01.
# A against 3A: distance = 2‖A‖ = 2√1.19, angle = euclidean = 0 (unit-norm operators),
#   spectral = 2 · mean|λ| = 0.95, wasserstein = 4 · mean λ² = 1.19.
PINNED = {
    # name: (A_x, A_y, distance, angle, euclidean, spectral, wasserstein, det C)
    "rotation blocks": (
        _blocks(0.9 * _rotation(np.pi / 6), 0.4 * _rotation(np.pi / 2)),
        _blocks(0.5 * _rotation(-np.pi / 3), 0.2 * _rotation(np.pi / 3)),
        0.8270587307, 0.5248293642, 0.5188266494, 0.3887790296, 0.1710065360, -1.0,
    ),
    "diagonals": (
        _DIAG, np.diag([0.1, -0.2, 0.8, 0.4]),
        0.2, 0.1068297871, 0.1067789941, 0.1, 0.01, None,
    ),
    "scaled copy": (_DIAG, 3.0 * _DIAG, 2.1817424229, 0.0, 0.0, 0.95, 1.19, None),
}


@pytest.mark.parametrize("name", list(PINNED))
def test_scores_match_a_table_computed_by_hand(name):
    A_x, A_y, *want, det = PINNED[name]
    A_x, A_y = jnp.asarray(A_x, jnp.float32), jnp.asarray(A_y, jnp.float32)
    result = dist(A_x, A_y, jr.key(0))
    got = [
        result.distance, result.angle, result.euclidean,
        spectral_distance(A_x, A_y), spectral_distance(A_x, A_y, squared=True),
    ]
    np.testing.assert_allclose(np.asarray(got, dtype=float), want, rtol=0, atol=2e-6)
    if det is not None:
        assert float(jnp.linalg.det(result.transform)) == pytest.approx(det, abs=1e-4)


def test_whitened_operator_is_the_similarity_of_the_unwhitened():
    """A_whitened = S⁻¹ A S with S the leading singular values of the delay embedding."""
    k = jr.split(jr.key(3), 3)
    M = 0.9 * jnp.linalg.qr(jr.normal(k[0], (6, 6)))[0] @ jnp.diag(jnp.linspace(0.5, 1.0, 6))
    run = lambda x, e: jax.lax.scan(lambda x, e: (M @ x + e,) * 2, x, e)[1]
    X = jax.vmap(run)(jr.normal(k[1], (5, 6)), 0.3 * jr.normal(k[2], (5, 40, 6)))
    A = np.asarray(fit_dmd(X, rank=RANK, n_delays=2), dtype=float)
    A_white = np.asarray(fit_dmd(X, rank=RANK, n_delays=2, whiten=True), dtype=float)
    H = np.concatenate([np.asarray(delay_embed(x, 2), dtype=float) for x in X])
    S = np.diag(np.linalg.svd(H, compute_uv=False)[:RANK])
    np.testing.assert_allclose(A_white, np.linalg.inv(S) @ A @ S, rtol=0, atol=1e-6)
    assert float(spectral_distance(jnp.asarray(A), jnp.asarray(A_white))) < 1e-5


@jax.jit
def _generic_search(A_x, A_y):
    """A generic optimiser, the reference code's strategy: Adam (lr 0.01, 200 steps) on a
    Cayley-parameterised C, unit-norm operators, started from I and from the transposition
    of the first two coordinates. Returns both C found."""
    eye = jnp.eye(RANK)
    a, b = A_x / jnp.linalg.norm(A_x), A_y / jnp.linalg.norm(A_y)
    cayley = lambda W: jnp.linalg.solve(eye + W - W.T, eye - W + W.T)
    opt = optax.adam(0.01)

    def search(P):
        loss = lambda W: jnp.sum((a - cayley(W) @ P @ b @ P.T @ cayley(W).T) ** 2)

        def step(carry, _):
            W, state = carry
            updates, state = opt.update(jax.grad(loss)(W), state)
            return (optax.apply_updates(W, updates), state), None

        W0 = jnp.zeros((RANK, RANK))
        (W, _), _ = jax.lax.scan(step, (W0, opt.init(W0)), None, length=200)
        return cayley(W) @ P

    return jax.vmap(search)(jnp.stack([eye, eye[jnp.array([1, 0, 2, 3])]]))


def test_search_is_at_least_as_good_as_generic_searches():
    """Our minimum is ≤ the distance at the identity, at 20 Haar-random orthogonal C (10
    of each determinant) and at the C a reference-style Adam search reaches."""
    for trial in range(3):
        ka, kb, kq = jr.split(jr.key(100 + trial), 3)
        A_x, A_y = jr.normal(ka, (RANK, RANK)) / 2.0, jr.normal(kb, (RANK, RANK)) / 2.0
        ours = dist(A_x, A_y, jr.key(trial))
        haar = [_haar(k, RANK, det) for k, det in zip(jr.split(kq, 20), [1.0, -1.0] * 10)]
        candidates = [jnp.eye(RANK), *haar, *_generic_search(A_x, A_y)]
        raw = [float(jnp.linalg.norm(A_x - C @ A_y @ C.T)) for C in candidates]
        unit = [
            float(jnp.linalg.norm(A_x / jnp.linalg.norm(A_x) - C @ A_y @ C.T / jnp.linalg.norm(A_y)))
            for C in candidates
        ]
        assert float(ours.distance) <= min(raw) + 1e-6
        assert float(ours.euclidean) <= min(unit) + 1e-6


def _with_spectrum(s, n_trial=2, n_time=50, *, key):
    """[trial, time, hidden] data whose stacked rows have exactly the singular values s."""
    ku, kv = jr.split(key)
    U = jnp.linalg.qr(jr.normal(ku, (n_trial * n_time, len(s))))[0]
    V = jnp.linalg.qr(jr.normal(kv, (len(s), len(s))))[0]
    return ((U * jnp.asarray(s)) @ V.T).reshape(n_trial, n_time, len(s))


def test_explained_variance_rank_of_a_known_spectrum():
    # s² = 16, 4, 1, 0.25, 0.01, 1e-4: cumulative fractions 0.7526, 0.9407, 0.9878,
    # 0.99953, 0.999995, 1.
    X = _with_spectrum([4.0, 2.0, 1.0, 0.5, 0.1, 0.01], key=jr.key(21))
    for threshold, rank in [(0.7, 1), (0.9, 2), (0.95, 3), (0.99, 4), (0.9999, 5), (1.0, 6)]:
        assert explained_variance_rank(X, threshold) == rank, threshold
    assert fit_dmd(X, rank="explained_variance").shape == (3, 3)  # default threshold 0.95
    assert fit_dmd(X, rank="explained_variance", variance_threshold=0.99).shape == (4, 4)
    # With delays, the rule applies to the singular values of the delay embedding.
    H = np.concatenate([np.asarray(delay_embed(x, 3)) for x in X])
    explained = np.cumsum(np.linalg.svd(H, compute_uv=False) ** 2)
    explained /= explained[-1]
    assert explained_variance_rank(X, 0.95, n_delays=3) == int(np.argmax(explained >= 0.95)) + 1


def test_null_distribution_resolves_the_explained_variance_rank_once(systems):
    X = systems["line"]
    H = np.concatenate([np.asarray(delay_embed(x, 2)) for x in X])
    explained = np.cumsum(np.linalg.svd(H, compute_uv=False) ** 2)
    explained /= explained[-1]
    threshold = float(explained[RANK - 2] + explained[RANK - 1]) / 2  # between ranks 3 and 4
    by_rule = dsa_null_distribution(
        X, rank="explained_variance", variance_threshold=threshold, n_delays=2, n_splits=3,
        key=jr.key(9), **OPTIONS,
    )
    fixed = dsa_null_distribution(X, rank=RANK, n_delays=2, n_splits=3, key=jr.key(9), **OPTIONS)
    for name in DSA_SCORES:
        np.testing.assert_array_equal(getattr(by_rule, name), getattr(fixed, name))


def test_bad_arguments_are_refused_with_the_fix(tmp_path):
    X = _with_spectrum([4.0, 2.0, 1.0], key=jr.key(0))
    with pytest.raises(ValueError, match=r"fit_dmd: rank must be an integer >= 1 .* got 0\. Pass the number"):
        fit_dmd(X, rank=0)
    with pytest.raises(ValueError, match="rank='explained_varience' is not an integer.*Did you mean 'explained_variance'"):
        fit_dmd(X, rank="explained_varience")
    for bad in (0.0, 1.5, -0.2):
        with pytest.raises(ValueError, match=rf"variance_threshold={bad} is outside the allowed range \(0, 1\]\. It is the fraction"):
            fit_dmd(X, rank="explained_variance", variance_threshold=bad)
    with pytest.raises(ValueError, match="needs concrete data.*explained_variance_rank"):
        jax.vmap(lambda x: fit_dmd(x, rank="explained_variance"))(X[None])
    nowhere = tmp_path / "none.zarr"  # refused before the store is opened
    with pytest.raises(ValueError, match="dsa_scores names 'angular', which is not a DSA score.*'angle' here"):
        degeneracy(nowhere, dsa_scores=("angular",))
    with pytest.raises(ValueError, match="dsa_scores names 'wasserstien'.*Did you mean 'wasserstein'"):
        degeneracy(nowhere, dsa_scores=("distance", "wasserstien"))
    with pytest.raises(ValueError, match="degeneracy: rank must be an integer >= 1 .* got 0"):
        degeneracy(nowhere, rank=0)
    with pytest.raises(ValueError, match=r"degeneracy: variance_threshold=2.0 is outside"):
        degeneracy(nowhere, rank="explained_variance", variance_threshold=2.0)


@pytest.mark.slow  # trains a sweep; the default path is in test_degeneracy_store.py
def test_store_level_dsa_in_the_reference_convention(tmp_path):
    spec = {
        "task": {"name": "flipflop", "n_bits": 1, "n_time": 12, "p": 0.1},
        "model": {"name": "vanilla", "hidden_size": 5},
        "train": {"learning_rate": [1e-3, 1e-2], "n_steps": 4, "eval_every": 4, "batch_size": 4, "eval_batch_size": 4},
        "sweep": {"seeds": 2, "trajectories": 3},
    }
    store = tmp_path / "s.zarr"
    neurodyn.run_sweep(spec, store, progress=False)
    ds = degeneracy(
        store, levels=("dynamics",), rank="explained_variance", variance_threshold=0.9,
        whiten=True, dsa_scores=DSA_SCORES, dsa_restarts=2, members_per_chunk=3, progress=False,
    )
    settings = ds.attrs["settings"]
    assert '"whiten": true' in settings and '"variance_threshold": 0.9' in settings
    sweep = neurodyn.open_sweep(store)
    states = {}
    for group in sweep.groups:
        data = sweep.group(group, chunks=None)
        for position, member in enumerate(data["member"].values):
            states[int(member)] = jnp.asarray(data["states"].values[position])  # vanilla: hidden = state
    members = [int(m) for m in ds["member"].values]
    ranks = [explained_variance_rank(states[m], 0.9) for m in members]
    np.testing.assert_array_equal(ds["dsa_rank"].values, ranks)
    assert ds.attrs["dsa_rank"] == max(ranks)
    ops = [fit_dmd(states[m], rank=max(ranks), whiten=True) for m in members]
    wasserstein = ds["dsa_wasserstein"].values
    checked = 0
    for i, j in zip(*np.nonzero(np.isfinite(wasserstein))):
        if i != j:
            want = float(spectral_distance(ops[i], ops[j], squared=True))
            assert wasserstein[i, j] == pytest.approx(want, rel=1e-4, abs=1e-6)
            checked += 1
    assert checked > 0
    for name in DSA_SCORES:
        assert ds[f"dsa_{name}"].attrs["level"] == "dynamics"
