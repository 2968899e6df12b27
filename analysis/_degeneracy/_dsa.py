"""Dynamical Similarity Analysis, part 1: from trajectories to linear operators.

Each network's hidden trajectories are delay-embedded (Hankel), projected on their
leading principal directions, and a linear operator `A` with z[t+1] ≈ A z[t] is fitted
by (ridge) least squares: the DMD step of DSA (Ostrow et al. 2023). Comparing two
operators up to an orthogonal change of coordinates lives in `_dsa_compare.py`.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from neurodyn import _checks

#: the rank rules besides an integer rank
RANK_RULES = ("explained_variance",)
#: the default `variance_threshold` (ours: the reference package has none)
VARIANCE_THRESHOLD = 0.95


def delay_embed(
    X: Float[Array, "time hidden"], n_delays: int, delay_interval: int = 1
) -> Float[Array, "window embed"]:
    """Delay (Hankel) embedding of one trajectory.

    Row t is `[x[t], x[t + τ], …, x[t + (d − 1)τ]]` with d = `n_delays` and
    τ = `delay_interval`, so there are `time − (d − 1)τ` rows of `d · hidden` entries.

    **Arguments:**

    - `X`: `[time, hidden]`.
    - `n_delays`: number of delayed copies d ≥ 1 (1 returns `X`).
    - `delay_interval`: steps τ ≥ 1 between copies.
    """
    n_delays = _checks.positive_int("delay_embed", "n_delays", n_delays)
    delay_interval = _checks.positive_int("delay_embed", "delay_interval", delay_interval)
    n_time = X.shape[0]
    n_window = n_time - (n_delays - 1) * delay_interval
    if n_window < 2:
        raise ValueError(
            f"delay_embed: a trajectory of {n_time} steps is too short for n_delays={n_delays} "
            f"and delay_interval={delay_interval} (needs at least "
            f"{(n_delays - 1) * delay_interval + 2} steps); use fewer or closer delays."
        )
    return jnp.concatenate(
        [X[k * delay_interval : k * delay_interval + n_window] for k in range(n_delays)], axis=1
    )


def _trials(owner: str, X):
    if X.ndim == 2:
        X = X[None]
    if X.ndim != 3:
        raise ValueError(
            f"{owner}: X must be [trial, time, hidden] or [time, hidden], got shape {X.shape}."
        )
    return X


def check_rank(owner: str, rank, variance_threshold) -> None:
    """Refuse a rank that is neither an integer >= 1 nor a rule in `RANK_RULES`, and a
    `variance_threshold` outside (0, 1]."""
    if isinstance(rank, str):
        if rank not in RANK_RULES:
            raise ValueError(
                f"{owner}: rank={rank!r} is not an integer or one of {list(RANK_RULES)}."
                f"{_checks.closest(rank, RANK_RULES)} Pass the number of principal directions "
                'to keep, or rank="explained_variance" with a variance_threshold.'
            )
    elif isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or rank < 1:
        raise ValueError(
            f"{owner}: rank must be an integer >= 1 or one of {list(RANK_RULES)}, got {rank!r}. "
            "Pass the number of principal directions to keep (e.g. rank=10), or "
            'rank="explained_variance" to choose it from the data.'
        )
    _checks.in_range(
        owner, "variance_threshold", variance_threshold, low=0.0, low_open=True, high=1.0,
        fix="It is the fraction of the delay-embedded data's variance to explain, e.g. 0.95.",
    )


@eqx.filter_jit
def embedding_singular_values(X, n_delays, delay_interval):
    """Singular values of the delay embeddings of all trials `[trial, time, hidden]` stacked."""
    H = jax.vmap(lambda x: delay_embed(x, n_delays, delay_interval))(X)
    return jnp.linalg.svd(H.reshape(-1, H.shape[-1]), compute_uv=False)


def rank_from_singular_values(s, variance_threshold: float) -> int:
    """The smallest r with Σ_{i≤r} s_i² / Σ_i s_i² ≥ `variance_threshold` (at most len(s))."""
    s2 = np.asarray(s, dtype=np.float64) ** 2
    explained = np.cumsum(s2) / np.sum(s2)
    return int(min(np.searchsorted(explained, variance_threshold) + 1, len(s2)))


def explained_variance_rank(
    X: Float[Array, "trial time hidden"] | Float[Array, "time hidden"],
    variance_threshold: float = VARIANCE_THRESHOLD,
    *,
    n_delays: int = 1,
    delay_interval: int = 1,
) -> int:
    """The smallest rank whose principal directions explain `variance_threshold` of the data.

        r = min { r : Σ_{i≤r} s_i² / Σ_i s_i² ≥ variance_threshold }

    with s the singular values of the delay embeddings of all trials stacked row-wise
    (not mean-centred, as in `fit_dmd`). This is the `rank_explained_variance` rule of
    Ostrow et al.'s reference code (`dsa-metric`), which has no default threshold; ours
    is 0.95. Needs concrete data (the rank fixes the operator's shape), so it runs
    outside `jit`/`vmap`.

    **Returns:** the rank, a Python int between 1 and `n_delays · hidden`.
    """
    check_rank("explained_variance_rank", "explained_variance", variance_threshold)
    if not _checks.is_concrete(X):
        raise ValueError(
            "explained_variance_rank: needs concrete data, got a traced X (inside jit or "
            "vmap); call it on the data first and pass the integer rank inside."
        )
    X = _trials("explained_variance_rank", jnp.asarray(X))
    return rank_from_singular_values(embedding_singular_values(X, n_delays, delay_interval), variance_threshold)


def fit_dmd(
    X: Float[Array, "trial time hidden"] | Float[Array, "time hidden"],
    *,
    rank: int | str,
    n_delays: int = 1,
    delay_interval: int = 1,
    ridge: float = 0.0,
    whiten: bool = False,
    variance_threshold: float = VARIANCE_THRESHOLD,
) -> Float[Array, "rank rank"]:
    """The DMD operator of delay-embedded, rank-reduced trajectories.

    With H = U S Vᵀ the SVD of the delay embeddings of all trials stacked row-wise, the
    coordinates are z = V_rᵀ h (principal components, `whiten=False`) or z̃ = S_r⁻¹ V_rᵀ h,
    the rows of U_r (whitened: unit norm over all samples, `whiten=True`, as the
    reference code `dsa-metric` fits its operator). A minimises Σ ‖z[t+1] − A z[t]‖² +
    λ‖A‖_F² over consecutive steps within each trial, λ = `ridge` · mean(‖z‖²) in the
    coordinates fitted. Since z̃ = S_r⁻¹ z and least squares is equivariant under an
    invertible change of coordinates, with `ridge=0`

        A_whitened = S_r⁻¹ A S_r,   S_r = diag(s_1, …, s_r) of H,

    so both have the same eigenvalues; with ridge > 0 only approximately. Unwhitened, an
    orthogonal change of the hidden basis changes A by an orthogonal similarity, and each
    direction counts by its variance; whitened, entry A_ij is scaled by s_j / s_i, so the
    low-variance directions a fixed rank keeps count as much as the leading ones (the
    default is the unwhitened form, the metric of docs/studies/degeneracy.md). Data are not mean-centred.

    **Arguments:**

    - `X`: `[trial, time, hidden]` (or one trial `[time, hidden]`).
    - `rank`: number of principal directions kept, at most `n_delays · hidden`; or
      `"explained_variance"`: `explained_variance_rank(X, variance_threshold, ...)`
      (needs concrete X, so not under `jit`/`vmap`).
    - `n_delays`, `delay_interval`: see `delay_embed`.
    - `ridge`: relative ridge penalty λ ≥ 0.
    - `whiten`: fit in whitened coordinates (the reference's operator).
    - `variance_threshold`: in (0, 1]; used with `rank="explained_variance"`.

    **Returns:** `A`, `[rank, rank]`.

    Reference: Ostrow, Eisen, Kozachkov, Fiete, "Beyond geometry: comparing the temporal
    structure of computation in neural circuits with dynamical similarity analysis",
    NeurIPS 2023.
    """
    check_rank("fit_dmd", rank, variance_threshold)
    _checks.in_range("fit_dmd", "ridge", ridge, low=0.0)
    if not isinstance(whiten, (bool, np.bool_)):
        raise TypeError(f"fit_dmd: whiten must be True or False, got {whiten!r}.")
    X = _trials("fit_dmd", X)
    if isinstance(rank, str):
        if not _checks.is_concrete(X):
            raise ValueError(
                'fit_dmd: rank="explained_variance" needs concrete data, got a traced X (inside '
                "jit or vmap); choose the rank first with explained_variance_rank(X, ...) and "
                "pass the integer."
            )
        rank = explained_variance_rank(
            X, variance_threshold, n_delays=n_delays, delay_interval=delay_interval
        )
    return _fit_dmd(X, int(rank), n_delays, delay_interval, ridge, bool(whiten))


@eqx.filter_jit
def _fit_dmd(X, rank: int, n_delays: int, delay_interval: int, ridge, whiten: bool):
    H = jax.vmap(lambda x: delay_embed(x, n_delays, delay_interval))(X)
    n_trial, n_window, n_embed = H.shape
    if rank > min(n_embed, n_trial * n_window):
        raise ValueError(
            f"fit_dmd: rank={rank} exceeds the embedding's size (n_delays · hidden = {n_embed}, "
            f"rows = {n_trial * n_window}); choose rank <= {min(n_embed, n_trial * n_window)}."
        )
    u, _, vt = jnp.linalg.svd(H.reshape(-1, n_embed), full_matrices=False)
    if whiten:
        # U_r is S_r⁻¹ V_rᵀ h row by row, without dividing by singular values near 0.
        Z = u[:, :rank].reshape(n_trial, n_window, rank)
    else:
        Z = H @ vt[:rank].T
    Z0 = Z[:, :-1].reshape(-1, rank)
    Z1 = Z[:, 1:].reshape(-1, rank)
    lam = ridge * jnp.mean(jnp.sum(Z0**2, axis=1))
    # Ridge as extra rows of the least-squares system keeps the conditioning of Z0
    # (the normal equations would square it).
    lhs = jnp.concatenate([Z0, jnp.sqrt(lam) * jnp.eye(rank, dtype=Z0.dtype)])
    rhs = jnp.concatenate([Z1, jnp.zeros((rank, rank), dtype=Z1.dtype)])
    At, *_ = jnp.linalg.lstsq(lhs, rhs)
    return At.T


def split_trials(
    X: Float[Array, "trial time hidden"], n_splits: int, *, key: PRNGKeyArray
) -> tuple[Float[Array, "split half time hidden"], Float[Array, "split half time hidden"]]:
    """`n_splits` random partitions of the trials into two disjoint halves.

    With an odd number of trials the one left over is unused. These halves feed the
    null distribution of DSA distances (the same network compared with itself).
    """
    n_trial = X.shape[0]
    if n_trial < 2:
        raise ValueError(
            f"split_trials: need at least 2 trials to split, got X of shape {X.shape}; "
            "record more trials per network for a null distribution."
        )
    half = n_trial // 2
    order = jax.vmap(lambda k: jr.permutation(k, n_trial))(jr.split(key, n_splits))
    return X[order[:, :half]], X[order[:, half : 2 * half]]
