"""Emission statistics of HMMs and of their emulators, empirical and analytic."""

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, PRNGKeyArray

from neurodyn.tasks._hmm import HMM, N_SYMBOLS, sample_hmm
from neurodyn.tasks._sinkhorn import sinkhorn_divergence


class EmissionStatistics(eqx.Module):
    """What an HMM emulator must reproduce (Torre et al. 2025).

    **Fields:**

    - `time_marginals`: `[time, 3]`, P(o_t = o) at each step.
    - `marginals`: `[3]`, the emission frequencies pooled over time.
    - `transitions`: `[3, 3]`, P(o_{t+1} = o' | o_t = o) pooled over t (rows: o).
    - `changes`: `[]`, the mean number of steps with o_{t+1} ≠ o_t per sequence.
    """

    time_marginals: Float[Array, "time 3"]
    marginals: Float[Array, " 3"]
    transitions: Float[Array, "3 3"]
    changes: Float[Array, ""]


def _from_pair_counts(time_marginals, pairs) -> EmissionStatistics:
    """Statistics from P(o_t) [time, 3] and P(o_t, o_{t+1}) summed over t [3, 3]."""
    rows = jnp.sum(pairs, axis=1, keepdims=True)
    return EmissionStatistics(
        time_marginals=time_marginals,
        marginals=jnp.mean(time_marginals, axis=0),
        transitions=pairs / jnp.where(rows > 0, rows, 1.0),
        changes=jnp.sum(pairs) - jnp.trace(pairs),
    )


@jax.jit
def emission_statistics(emissions: Float[Array, "trial time 3"]) -> EmissionStatistics:
    """Empirical statistics of one-hot emission sequences (pooled over trials and time)."""
    time_marginals = jnp.mean(emissions, axis=0)
    pairs = jnp.einsum("nto,ntp->op", emissions[:, :-1], emissions[:, 1:]) / emissions.shape[0]
    return _from_pair_counts(time_marginals, pairs)


def state_marginals(hmm: HMM, n_time: int) -> Float[Array, "time M"]:
    """P(s_t) for t = 0 … n_time − 1 from `hmm.initial`."""

    def body(p, _):
        return p @ hmm.transition, p

    return jax.lax.scan(body, hmm.initial, None, length=n_time)[1]


def stationary_distribution(hmm: HMM) -> Float[Array, " M"]:
    """The stationary state distribution π = π A (left eigenvector for eigenvalue 1)."""
    m = hmm.n_states
    # Solve π (A − I) = 0 with Σπ = 1 as one least-squares system.
    system = jnp.concatenate([(hmm.transition - jnp.eye(m)).T, jnp.ones((1, m))])
    rhs = jnp.concatenate([jnp.zeros(m), jnp.ones(1)])
    return jnp.linalg.lstsq(system, rhs)[0]


@functools.partial(jax.jit, static_argnames="n_time")
def analytic_emission_statistics(hmm: HMM, n_time: int) -> EmissionStatistics:
    """The exact expectations of `emission_statistics` for sequences of `hmm`.

    With p_t = P(s_t): P(o_t) = p_t B and P(o_t = o, o_{t+1} = o') =
    Σ_{s,s'} p_t(s) B(s,o) A(s,s') B(s',o'); pooled transitions are the pair
    probabilities summed over t, row-normalised, and the expected number of changes is
    their off-diagonal sum.
    """
    p = state_marginals(hmm, n_time)
    b, a = hmm.emission, hmm.transition
    pair_t = jnp.einsum("ts,so,sr,rp->op", p[:-1], b, a, b)
    return _from_pair_counts(p @ b, pair_t)


def stationary_emission_marginals(hmm: HMM) -> Float[Array, " 3"]:
    """Emission frequencies of the stationary chain, π B."""
    return stationary_distribution(hmm) @ hmm.emission


def sample_hmm_onehot(hmm: HMM, n_trials: int, n_time: int, *, key: PRNGKeyArray):
    """`n_trials` one-hot emission sequences `[trial, time, 3]` of `hmm`."""
    keys = jr.split(key, n_trials)
    emissions = jax.vmap(lambda k: sample_hmm(hmm, n_time, key=k)[1])(keys)
    return jax.nn.one_hot(emissions, N_SYMBOLS)


@eqx.filter_jit
def emulation_distance(
    generated: Float[Array, "trial time 3"], hmm: HMM, *, key: PRNGKeyArray, blur: float = 0.2
) -> tuple[Float[Array, ""], Float[Array, ""]]:
    """Sinkhorn divergence of emulated sequences to the HMM's, and the HMM-vs-HMM baseline.

    Returns (S(generated, X), S(X', X)) with X, X' two independent sets of HMM sequences
    of the same size: a perfect emulator scores like the baseline, which measures the
    finite-sample distance alone.
    """
    n, t, _ = generated.shape
    k1, k2 = jr.split(key)
    reference = sample_hmm_onehot(hmm, n, t, key=k1).reshape(n, -1)
    other = sample_hmm_onehot(hmm, n, t, key=k2).reshape(n, -1)
    distance = sinkhorn_divergence(generated.reshape(n, -1), reference, blur=blur)
    return distance, sinkhorn_divergence(other, reference, blur=blur)
