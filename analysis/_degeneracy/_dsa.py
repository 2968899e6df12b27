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
from jaxtyping import Array, Float, PRNGKeyArray

from neurodyn import _checks


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


@eqx.filter_jit
def fit_dmd(
    X: Float[Array, "trial time hidden"] | Float[Array, "time hidden"],
    *,
    rank: int,
    n_delays: int = 1,
    delay_interval: int = 1,
    ridge: float = 0.0,
) -> Float[Array, "rank rank"]:
    """The DMD operator of delay-embedded, rank-reduced trajectories.

    With H the delay embeddings of all trials stacked row-wise and V the top `rank`
    right singular vectors of H, the coordinates are z = V^T h (principal components,
    not whitened, so an orthogonal change of the hidden basis changes A only by an
    orthogonal similarity). A minimises Σ ‖z[t+1] − A z[t]‖² + λ‖A‖_F² over pairs of
    consecutive steps within each trial, with λ = `ridge` · mean(‖z‖²) so that the fit
    does not depend on the scale of X. Data are not mean-centred (an offset shows up as
    an eigenvalue near 1), as in DSA.

    **Arguments:**

    - `X`: `[trial, time, hidden]` (or one trial `[time, hidden]`).
    - `rank`: number of principal directions kept; at most `n_delays · hidden`.
    - `n_delays`, `delay_interval`: see `delay_embed`.
    - `ridge`: relative ridge penalty λ ≥ 0.

    **Returns:** `A`, `[rank, rank]`.

    Reference: Ostrow, Eisen, Kozachkov, Fiete, "Beyond geometry: comparing the temporal
    structure of computation in neural circuits with dynamical similarity analysis",
    NeurIPS 2023.
    """
    if X.ndim == 2:
        X = X[None]
    if X.ndim != 3:
        raise ValueError(f"fit_dmd: X must be [trial, time, hidden] or [time, hidden], got shape {X.shape}.")
    rank = _checks.positive_int("fit_dmd", "rank", rank)
    _checks.in_range("fit_dmd", "ridge", ridge, low=0.0)
    H = jax.vmap(lambda x: delay_embed(x, n_delays, delay_interval))(X)
    n_trial, n_window, n_embed = H.shape
    if rank > min(n_embed, n_trial * n_window):
        raise ValueError(
            f"fit_dmd: rank={rank} exceeds the embedding's size (n_delays · hidden = {n_embed}, "
            f"rows = {n_trial * n_window}); choose rank <= {min(n_embed, n_trial * n_window)}."
        )
    _, _, vt = jnp.linalg.svd(H.reshape(-1, n_embed), full_matrices=False)
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
