"""Dynamical Similarity Analysis, part 2: comparing linear operators.

The DSA distance is min over orthogonal C of ‖A_x − C A_y Cᵀ‖_F. O(n) has two
components (det ±1); a descent that moves along the group by rotations never leaves
the component it starts in (and a rotation parameterisation, Cayley or exponential,
reaches only det +1), so every search is started both from rotations C₀ and from
C₀·R with the fixed reflection R = diag(−1, 1, …, 1), and the best of all restarts is
kept.

Scores, all from the one alignment C (minimising ‖A_x − C A_y Cᵀ‖ over C maximises
⟨A_x, C A_y Cᵀ⟩_F, so the raw and the unit-norm problems share their minimiser):

- `distance`: ‖A_x − C A_y Cᵀ‖_F on the operators as fitted (ours, docs/studies/degeneracy.md);
- `angle`: arccos ⟨Â_x, C Â_y Cᵀ⟩_F with Â = A / ‖A‖_F (the reference's "angular");
- `euclidean`: ‖Â_x − C Â_y Cᵀ‖_F = 2 sin(angle / 2) (the reference's "euclidean");
- `spectral`: (1/n) Σ_i |λ_i − μ_σ(i)| over the eigenvalues, σ the optimal matching
  for that cost (ours, Wasserstein-1);
- `wasserstein`: (1/n) Σ_i |λ_i − μ_σ(i)|², σ optimal for that cost (the reference's
  "wasserstein": a squared Wasserstein-2 distance, no square root).

The reference code is Ostrow et al.'s `dsa-metric` (`SimilarityTransformDist`, whose
default score is "angular"; its `DSA` class defaults to "wasserstein"). Its convention
is whitened operators (`fit_dmd(whiten=True)`) scored by angle, euclidean or
wasserstein; ours, the default, is unwhitened operators scored by distance (with angle
and spectral beside it).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import scipy.optimize
from jaxtyping import Array, Float, Int, PRNGKeyArray

from neurodyn import _checks

from ._dsa import VARIANCE_THRESHOLD, check_rank, explained_variance_rank, fit_dmd, split_trials
from ._pairwise import pairwise


class DSADistance(eqx.Module):
    """The result of comparing two DMD operators.

    **Fields:**

    - `distance`: min over orthogonal C of ‖A_x − C A_y Cᵀ‖_F (≥ 0).
    - `angle`: the angle in [0, π] between A_x and C A_y Cᵀ at that C, i.e.
      arccos(⟨A_x, C A_y Cᵀ⟩_F / (‖A_x‖ ‖A_y‖)); insensitive to the operators' scale
      (the reference's "angular" score).
    - `euclidean`: ‖Â_x − C Â_y Cᵀ‖_F with Â = A / ‖A‖_F, in [0, 2] (the reference's
      "euclidean" score).
    - `transform`: the orthogonal C found, `[rank, rank]`.
    """

    distance: Float[Array, ""]
    angle: Float[Array, ""]
    euclidean: Float[Array, ""]
    transform: Float[Array, "rank rank"]


def _haar_rotation(key: PRNGKeyArray, n: int) -> Float[Array, "n n"]:
    """A Haar-distributed rotation (orthogonal, det +1)."""
    q, r = jnp.linalg.qr(jr.normal(key, (n, n)))
    q = q * jnp.sign(jnp.diag(r))
    return q.at[:, 0].multiply(jnp.sign(jnp.linalg.det(q)))


def _polar(M: Float[Array, "n n"]) -> Float[Array, "n n"]:
    """The orthogonal factor of M: the closest orthogonal matrix in Frobenius norm."""
    u, _, vt = jnp.linalg.svd(M)
    return u @ vt


def _skew(M: Float[Array, "n n"]) -> Float[Array, "n n"]:
    return 0.5 * (M - M.T)


def _cayley(S: Float[Array, "n n"]) -> Float[Array, "n n"]:
    """(I − S/2)⁻¹ (I + S/2) ≈ I + S: orthogonal with det +1 for skew-symmetric S."""
    eye = jnp.eye(S.shape[0], dtype=S.dtype)
    return jnp.linalg.solve(eye - 0.5 * S, eye + 0.5 * S)


_N_CG = 25


def _gauss_newton_step(B, E, mu):
    """The skew Ω minimising ‖E − (ΩB − BΩ)‖² + μ‖Ω‖², by a fixed number of CG steps.

    ΩB − BΩ is the first-order change of B = C A_y Cᵀ when C moves to (I + Ω) C, so Ω is
    a Levenberg–Marquardt step for the residual E = A_x − B. Matrix-free: each CG step
    costs a few n × n products, whatever the rank.
    """
    L = lambda W: W @ B - B @ W
    Lt = lambda R: _skew(R @ B.T - B.T @ R)
    op = lambda W: Lt(L(W)) + mu * W
    rhs = Lt(E)
    tiny = jnp.finfo(B.dtype).tiny

    def body(_, c):
        x, r, p, rs = c
        Ap = op(p)
        alpha = rs / jnp.maximum(jnp.sum(p * Ap), tiny)
        x, r = x + alpha * p, r - alpha * Ap
        rs_new = jnp.sum(r * r)
        return x, r, r + (rs_new / jnp.maximum(rs, tiny)) * p, rs_new

    init = (jnp.zeros_like(B), rhs, rhs, jnp.sum(rhs * rhs))
    return jax.lax.fori_loop(0, _N_CG, body, init)[0]


def _descend(C0, A_x, A_y, n_iters: int, n_refine: int):
    """Search, then refine, from C0; both phases monotone.

    1. Search (`n_iters` steps): C ← polar(C + η ∇g(C)), maximising
       g(C) = ⟨A_x, C A_y Cᵀ⟩ (equivalent to minimising the distance, as the norms are
       fixed); η starts at 1/(‖A_x‖₂‖A_y‖₂), where the step is a minorise-maximise step,
       and grows ×1.5 after a success, halves after a failure. Projecting from the
       ambient space reaches far basins that small rotations rarely do.
    2. Refine (`n_refine` steps): Levenberg–Marquardt on the residual
       ‖A_x − C A_y Cᵀ‖², with C ← cayley(Ω) C, accepted only when the residual drops
       (damping ÷3 on success, ×3 on failure). Converges fast near the optimum, where
       the search's first-order steps crawl.
    """
    scale = jnp.linalg.norm(A_x, 2) * jnp.linalg.norm(A_y, 2)
    eta0 = 1.0 / jnp.maximum(scale, jnp.finfo(A_x.dtype).tiny)
    g = lambda C: jnp.sum(A_x * (C @ A_y @ C.T))
    f = lambda C: jnp.sum((A_x - C @ A_y @ C.T) ** 2)

    def search(carry, _):
        C, eta, value = carry
        new = _polar(C + eta * (A_x @ C @ A_y.T + A_x.T @ C @ A_y))
        new_value = g(new)
        ok = new_value >= value
        return (
            jnp.where(ok, new, C),
            jnp.where(ok, 1.5 * eta, 0.5 * eta),
            jnp.where(ok, new_value, value),
        ), None

    def refine(carry, _):
        C, mu, value = carry
        B = C @ A_y @ C.T
        new = _cayley(_gauss_newton_step(B, A_x - B, mu)) @ C
        new_value = f(new)
        ok = new_value <= value
        return (
            jnp.where(ok, new, C),
            jnp.where(ok, mu / 3.0, 3.0 * mu),
            jnp.where(ok, new_value, value),
        ), None

    (C, _, _), _ = jax.lax.scan(search, (C0, eta0, g(C0)), None, length=n_iters)
    mu0 = 1e-3 * scale
    (C, _, value), _ = jax.lax.scan(refine, (C, mu0, f(C)), None, length=n_refine)
    return C, value


@eqx.filter_jit
def dsa_distance(
    A_x: Float[Array, "rank rank"],
    A_y: Float[Array, "rank rank"],
    *,
    n_restarts: int = 16,
    n_iters: int = 200,
    n_refine: int = 20,
    key: PRNGKeyArray,
) -> DSADistance:
    """Procrustes distance between two linear operators over the whole orthogonal group.

        d(A_x, A_y) = min_{C ∈ O(n)} ‖A_x − C A_y Cᵀ‖_F

    The minimum is searched from `n_restarts` rotations (the identity and Haar-random
    ones) and from the same rotations times the reflection R = diag(−1, 1, …, 1), so
    both components of O(n) are covered; each start runs `n_iters` projected-gradient
    search steps and `n_refine` Levenberg–Marquardt refinement steps (see `_descend`),
    and the best start wins. The problem is non-convex: the result is an upper bound on
    the minimum that more restarts can only lower (with the defaults, A against Qᵀ A Q
    for random A of rank 8, 16 and 32 and random orthogonal Q of either determinant came
    out at ≤ 6e-6 in 24 of 24 trials; with 8 restarts one of 18 stayed at 0.5). Cost
    grows linearly with restarts and about as rank³ (on a 2-core CPU, ~0.5 s per pair at
    rank 8, ~6 s at rank 32). Jitted; vmappable over pairs.

    **Returns:** a `DSADistance` (distance, angle, euclidean, transform).

    Reference: Ostrow et al., NeurIPS 2023 (DSA); this implementation is our own.
    """
    n_restarts = _checks.positive_int("dsa_distance", "n_restarts", n_restarts)
    if A_x.shape != A_y.shape or A_x.ndim != 2 or A_x.shape[0] != A_x.shape[1]:
        raise ValueError(
            f"dsa_distance: A_x and A_y must be square operators of the same rank, got shapes "
            f"{A_x.shape} and {A_y.shape}; fit both with the same `rank`."
        )
    n = A_x.shape[0]
    rotations = jax.vmap(lambda k: _haar_rotation(k, n))(jr.split(key, n_restarts))
    rotations = rotations.at[0].set(jnp.eye(n, dtype=A_x.dtype))
    reflection = jnp.ones(n, dtype=A_x.dtype).at[0].set(-1.0)
    starts = jnp.concatenate([rotations, rotations * reflection])
    Cs, fs = jax.vmap(lambda C0: _descend(C0, A_x, A_y, n_iters, n_refine))(starts)
    best = jnp.argmin(fs)
    C = Cs[best]
    euclidean = _unit_distance(A_x, C @ A_y @ C.T)
    return DSADistance(
        distance=jnp.sqrt(fs[best]),
        # 2 arcsin(‖â − b̂‖/2) is arccos⟨â, b̂⟩, exact near 0 where arccos is not.
        angle=2.0 * jnp.arcsin(jnp.clip(euclidean / 2.0, 0.0, 1.0)),
        euclidean=euclidean,
        transform=C,
    )


def _unit_distance(a: Array, b: Array) -> Float[Array, ""]:
    """‖a/‖a‖ − b/‖b‖‖_F."""
    tiny = jnp.finfo(a.dtype).tiny
    a = a / jnp.maximum(jnp.linalg.norm(a), tiny)
    b = b / jnp.maximum(jnp.linalg.norm(b), tiny)
    return jnp.linalg.norm(a - b)


def _assignment(cost: np.ndarray) -> np.ndarray:
    return scipy.optimize.linear_sum_assignment(cost)[1].astype(np.int32)


def _matched_mean(lam, mu, squared: bool):
    cost = jnp.abs(lam[:, None] - mu[None, :])
    if squared:
        cost = cost**2
    shape = jax.ShapeDtypeStruct((cost.shape[0],), jnp.int32)
    match = jax.pure_callback(_assignment, shape, cost, vmap_method="sequential")
    return jnp.mean(cost[jnp.arange(cost.shape[0]), match])


@eqx.filter_jit
def spectral_distance(
    A_x: Float[Array, "rank rank"], A_y: Float[Array, "rank rank"], *, squared: bool = False
) -> Float[Array, ""]:
    """Optimal-transport distance between the eigenvalue sets of two operators.

        W(A_x, A_y) = min over permutations σ of (1/n) Σ_i |λ_i − μ_σ(i)|^p

    with λ, μ the eigenvalues in the complex plane, each set a uniform measure: p = 1
    (`squared=False`, the Wasserstein-1 distance, our `spectral` score) or p = 2
    (`squared=True`, the squared Wasserstein-2 distance without the square root, the
    reference's "wasserstein" score); σ is optimal for the cost used. Invariant to any
    similarity transform (not only orthogonal ones), so whitening leaves it unchanged.
    The matching runs on the host (`scipy.optimize.linear_sum_assignment` through
    `jax.pure_callback`); the function is jittable and vmappable.
    """
    return _matched_mean(jnp.linalg.eigvals(A_x), jnp.linalg.eigvals(A_y), squared)


#: the names of the DSA scores, the fields of `DSAScores`
DSA_SCORES = ("distance", "angle", "euclidean", "spectral", "wasserstein")


class DSAScores(eqx.Module):
    """Per-pair DSA scores: `distance`, `angle`, `euclidean` (see `DSADistance`),
    `spectral` and `wasserstein` (`spectral_distance` with `squared=False` / `True`)."""

    distance: Float[Array, "*pair"]
    angle: Float[Array, "*pair"]
    euclidean: Float[Array, "*pair"]
    spectral: Float[Array, "*pair"]
    wasserstein: Float[Array, "*pair"]


@eqx.filter_jit
def dsa_scores(
    A_x: Float[Array, "rank rank"], A_y: Float[Array, "rank rank"], *, key: PRNGKeyArray, **options
) -> DSAScores:
    """All five DSA scores of one pair of operators; `options` go to `dsa_distance`."""
    d = dsa_distance(A_x, A_y, key=key, **options)
    lam, mu = jnp.linalg.eigvals(A_x), jnp.linalg.eigvals(A_y)
    return DSAScores(
        distance=d.distance,
        angle=d.angle,
        euclidean=d.euclidean,
        spectral=_matched_mean(lam, mu, False),
        wasserstein=_matched_mean(lam, mu, True),
    )


@eqx.filter_jit
def pairwise_dsa(
    operators: Float[Array, "member rank rank"],
    pairs: Int[Array, "pair 2"],
    *,
    key: PRNGKeyArray,
    batch_size: int | None = 64,
    **options,
) -> DSAScores:
    """`dsa_scores` for every pair of members, vmapped in batches of `batch_size` pairs.

    **Returns:** a `DSAScores` whose fields have a leading `pair` axis, equal to calling
    `dsa_scores` on each pair with the key `jr.split(key, n_pairs)[p]`.
    """
    return pairwise(
        lambda a, b, *, key: dsa_scores(a, b, key=key, **options),
        operators,
        pairs,
        key=key,
        batch_size=batch_size,
    )


def dsa_null_distribution(
    X: Float[Array, "trial time hidden"],
    *,
    rank: int | str,
    n_splits: int = 8,
    n_delays: int = 1,
    delay_interval: int = 1,
    ridge: float = 0.0,
    whiten: bool = False,
    variance_threshold: float = VARIANCE_THRESHOLD,
    key: PRNGKeyArray,
    **options,
) -> DSAScores:
    """DSA scores between random halves of one network's trials: what "same dynamics" looks like.

    Each of `n_splits` random partitions of the trials gives two operators (fitted
    exactly as `fit_dmd` would fit the whole set, with `rank="explained_variance"`
    resolved once on all of X so both halves share it) that are compared with
    `dsa_scores`. A distance between two networks is meaningful when it clearly exceeds
    this spread. Each half holds half the trials, so its fit is noisier than one on all
    trials: the null errs on the wide (conservative) side.

    **Returns:** a `DSAScores` with a leading `split` axis.
    """
    check_rank("dsa_null_distribution", rank, variance_threshold)
    if isinstance(rank, str):
        rank = explained_variance_rank(
            X, variance_threshold, n_delays=n_delays, delay_interval=delay_interval
        )
    fit = dict(rank=int(rank), n_delays=n_delays, delay_interval=delay_interval, ridge=ridge, whiten=whiten)
    return _null_distribution(X, n_splits, fit, options, key)


@eqx.filter_jit
def _null_distribution(X, n_splits, fit, options, key):
    skey, dkey = jr.split(key)
    first, second = split_trials(X, n_splits, key=skey)
    A1 = jax.vmap(lambda x: fit_dmd(x, **fit))(first)
    A2 = jax.vmap(lambda x: fit_dmd(x, **fit))(second)
    keys = jr.split(dkey, n_splits)
    return jax.vmap(lambda a, b, k: dsa_scores(a, b, key=k, **options))(A1, A2, keys)
