"""Hidden Markov models with 3 output symbols: the ones of Torre et al. (2025), and a sampler."""

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, Int, PRNGKeyArray

from neurodyn import _checks

N_SYMBOLS = 3


class HMM(eqx.Module):
    """A discrete hidden Markov model with `M` states and 3 output symbols.

    s_0 ~ initial; o_t ~ emission[s_t]; s_{t+1} ~ transition[s_t].

    **Fields** (array leaves, so HMMs of one size stack and vmap):

    - `transition`: `Float[Array, "M M"]`, row-stochastic, P(s' | s).
    - `emission`: `Float[Array, "M 3"]`, row-stochastic, P(o | s).
    - `initial`: `Float[Array, " M"]`, P(s_0) (uniform by default).
    """

    transition: Float[Array, "M M"]
    emission: Float[Array, "M 3"]
    initial: Float[Array, " M"]

    def __init__(self, transition, emission, initial=None):
        owner = "HMM"
        self.transition = jnp.asarray(transition, dtype=float)
        self.emission = jnp.asarray(emission, dtype=float)
        m = self.transition.shape[-1]
        self.initial = jnp.full(m, 1.0 / m) if initial is None else jnp.asarray(initial, dtype=float)
        shapes = (self.transition.shape[-2:], self.emission.shape[-2:], self.initial.shape[-1:])
        if shapes != ((m, m), (m, N_SYMBOLS), (m,)):
            raise ValueError(
                f"{owner}: expected transition [M, M], emission [M, {N_SYMBOLS}] and initial [M] "
                f"with one M; got shapes {[tuple(s) for s in shapes]}."
            )
        for name, value in (("transition", transition), ("emission", emission), ("initial", initial)):
            if value is None or not _checks.is_concrete(value):
                continue
            _checks.in_range(owner, name, value, low=0.0, high=1.0, fix="Entries are probabilities.")
            sums = np.asarray(value, dtype=float).sum(-1)
            if not np.allclose(sums, 1.0, atol=1e-6):
                raise ValueError(
                    f"{owner}: every row of {name} must sum to 1, got sums {np.round(sums, 6).tolist()}."
                )

    @property
    def n_states(self) -> int:
        return self.transition.shape[-1]


def linear_chain_emission(n_states: int) -> np.ndarray:
    """State i emits [0.99(1 − α), 0.01, 0.99 α] with α = i / (M − 1)."""
    alpha = np.arange(n_states) / (n_states - 1)
    return np.stack([0.99 * (1 - alpha), np.full(n_states, 0.01), 0.99 * alpha], axis=1)


def linear_chain_hmm(n_states: int = 2) -> HMM:
    """A chain of 2 ≤ M ≤ 5 states, moving only to neighbours (Torre et al. 2025).

    q = 0.05^{1/(M−1)}; the two end states stay with 1 − q and move inwards with q;
    middle states stay with 1 − 2q and move to each neighbour with q. Emissions follow
    `linear_chain_emission`; the start is uniform. Beyond M = 5, 2q > 1 and the middle
    states' stay probability would be negative, so longer chains are refused.
    """
    m = _checks.positive_int("linear_chain_hmm", "n_states", n_states, minimum=2)
    q = 0.05 ** (1.0 / (m - 1))
    if m > 2 and 2 * q > 1:
        raise ValueError(
            f"linear_chain_hmm: n_states={m} is too long a chain: its step q = 0.05^(1/(M-1)) = {q:.3f} "
            f"leaves the middle states 1 - 2q = {1 - 2 * q:.3f} to stay. Use 2 to 5 states, or build "
            "the chain's transition matrix yourself and pass it to HMM."
        )
    a = np.zeros((m, m))
    for i in range(m):
        neighbours = [j for j in (i - 1, i + 1) if 0 <= j < m]
        a[i, neighbours] = q
        a[i, i] = 1.0 - q * len(neighbours)
    return HMM(a, linear_chain_emission(m))


def fully_connected_hmm() -> HMM:
    """3 states, stay 0.95 and move to each other state with 0.025; state i emits
    symbol i with 0.98 and each other symbol with 0.01; uniform start."""
    a = np.full((3, 3), 0.025) + np.eye(3) * (0.95 - 0.025)
    b = np.full((3, 3), 0.01) + np.eye(3) * (0.98 - 0.01)
    return HMM(a, b)


#: The cyclic HMM's emissions P(o | s) (Torre et al. 2025): states 0 and 1 favour symbols 0
#: and 1, state 2 favours symbol 2 and state 3 symbol 1, so going round the ring emits
#: 0 → 1 → 2 → 1 → 0; the stationary emission marginals are [0.25, 0.5, 0.25].
CYCLIC_EMISSION = np.array([[0.9, 0.1, 0.0], [0.1, 0.9, 0.0], [0.0, 0.1, 0.9], [0.0, 0.9, 0.1]])
CYCLIC_EMISSION.setflags(write=False)


def cyclic_hmm(emission=None) -> HMM:
    """4 states on a ring: stay 0.95, move to each ±1 neighbour (mod 4) with 0.025.

    Emissions are the study's `CYCLIC_EMISSION` by default,
    [[.9, .1, 0], [.1, .9, 0], [0, .1, .9], [0, .9, .1]] (rows: states); the start is
    uniform, which is also the stationary distribution, so P(o_t) = [.25, .5, .25] at
    every t. Pass `emission` [4, 3] to change them.

    Reference: Torre, Viscione, Pompe, Grewe, Mante, "Mechanistic interpretability of
    RNNs emulating hidden Markov models", NeurIPS 2025.
    """
    a = 0.95 * np.eye(4) + 0.025 * (np.roll(np.eye(4), 1, axis=1) + np.roll(np.eye(4), -1, axis=1))
    return HMM(a, CYCLIC_EMISSION if emission is None else emission)


@functools.partial(jax.jit, static_argnames="n_time")
def sample_hmm(
    hmm: HMM, n_time: int, *, key: PRNGKeyArray
) -> tuple[Int[Array, " time"], Int[Array, " time"]]:
    """One sequence of `n_time` hidden states and emissions, both int arrays `[time]`."""
    skey, key = jr.split(key)
    log_a, log_b = jnp.log(hmm.transition), jnp.log(hmm.emission)
    state0 = jr.categorical(skey, jnp.log(hmm.initial))

    def body(state, k):
        ekey, tkey = jr.split(k)
        emission = jr.categorical(ekey, log_b[state])
        return jr.categorical(tkey, log_a[state]), (state, emission)

    _, (states, emissions) = jax.lax.scan(body, state0, jr.split(key, n_time))
    return states, emissions
