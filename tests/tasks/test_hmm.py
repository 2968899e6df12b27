"""The HMMs of docs/studies/hmm-emulation.md, the sampler, and emission statistics (analytic vs sampled)."""

import itertools

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from neurodyn.tasks import (
    HMM,
    analytic_emission_statistics,
    cyclic_hmm,
    emission_statistics,
    fully_connected_hmm,
    linear_chain_hmm,
    sample_hmm,
    stationary_distribution,
    stationary_emission_marginals,
)

Z = 5.0  # z-score bound of every Monte-Carlo check below


def test_linear_chain_matrices():
    np.testing.assert_allclose(linear_chain_hmm(2).transition, [[0.95, 0.05], [0.05, 0.95]])
    np.testing.assert_allclose(linear_chain_hmm(2).emission, [[0.99, 0.01, 0.0], [0.0, 0.01, 0.99]])
    hmm = linear_chain_hmm(4)
    q = 0.05 ** (1 / 3)
    expected = [[1 - q, q, 0, 0], [q, 1 - 2 * q, q, 0], [0, q, 1 - 2 * q, q], [0, 0, q, 1 - q]]
    np.testing.assert_allclose(hmm.transition, expected, rtol=1e-6)
    np.testing.assert_allclose(hmm.emission[1], [0.99 * 2 / 3, 0.01, 0.99 / 3], rtol=1e-6)
    np.testing.assert_allclose(hmm.initial, 0.25)
    for m in range(2, 6):
        np.testing.assert_allclose(linear_chain_hmm(m).transition.sum(1), 1.0, rtol=1e-6)


def test_fully_connected_and_cyclic_matrices():
    fc = fully_connected_hmm()
    np.testing.assert_allclose(np.diag(fc.transition), 0.95)
    np.testing.assert_allclose(fc.transition.sum(1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(np.diag(fc.emission), 0.98)
    cyc = cyclic_hmm()
    a = np.asarray(cyc.transition)
    for i in range(4):
        assert a[i, i] == pytest.approx(0.95)
        assert a[i, (i + 1) % 4] == a[i, (i - 1) % 4] == pytest.approx(0.025)
        assert a[i, (i + 2) % 4] == 0.0


def _sample(hmm, n_seq, n_time, seed):
    keys = jr.split(jr.key(seed), n_seq)
    states, emissions = jax.vmap(lambda k: sample_hmm(hmm, n_time, key=k))(keys)
    return np.asarray(states), np.asarray(emissions)


def _z_rows(counts, totals, probs):
    """z-scores of multinomial row counts; entries of probability 0 must have count 0."""
    expected = totals[:, None] * probs
    assert np.all(counts[probs == 0] == 0)
    sd = np.sqrt(np.where(probs > 0, totals[:, None] * probs * (1 - probs), 1.0))
    return (counts - expected) / sd


@pytest.mark.parametrize("hmm", [linear_chain_hmm(3), fully_connected_hmm(), cyclic_hmm()])
def test_sampler_reproduces_the_matrices(hmm):
    states, emissions = _sample(hmm, 2000, 50, 0)
    m = hmm.n_states
    a, b = np.asarray(hmm.transition, np.float64), np.asarray(hmm.emission, np.float64)
    trans = np.zeros((m, m))
    np.add.at(trans, (states[:, :-1].ravel(), states[:, 1:].ravel()), 1)
    assert np.all(np.abs(_z_rows(trans, trans.sum(1), a)) < Z)
    emit = np.zeros((m, 3))
    np.add.at(emit, (states.ravel(), emissions.ravel()), 1)
    assert np.all(np.abs(_z_rows(emit, emit.sum(1), b)) < Z)
    first = np.bincount(states[:, 0], minlength=m)
    assert np.all(np.abs(_z_rows(first[None], np.array([2000.0]), np.full((1, m), 1 / m))) < Z)


@pytest.mark.parametrize("hmm", [linear_chain_hmm(2), linear_chain_hmm(5), cyclic_hmm()])
def test_sampler_matches_analytic_emission_statistics(hmm):
    # Per-sequence statistics are independent across sequences: z = (mean − exact) / SE.
    n_seq, n_time = 3000, 40
    _, emissions = _sample(hmm, n_seq, n_time, 1)
    onehot = np.eye(3)[emissions]
    exact = analytic_emission_statistics(hmm, n_time)

    def check(per_sequence, expected):
        se = per_sequence.std(0, ddof=1) / np.sqrt(n_seq)
        z = (per_sequence.mean(0) - np.asarray(expected)) / np.where(se > 0, se, 1.0)
        assert np.all(np.abs(z) < Z), z

    check(onehot.mean(1), exact.marginals)
    # pair counts per sequence: Σ_t P(o_t = o, o_{t+1} = o') = P(o'|o) · Σ_{t<T−1} P(o_t = o)
    pairs = np.einsum("nto,ntp->nop", onehot[:, :-1], onehot[:, 1:])
    weights = np.asarray(exact.time_marginals)[:-1].sum(0)
    check(pairs, np.asarray(exact.transitions) * weights[:, None])
    changes = (emissions[:, 1:] != emissions[:, :-1]).sum(1).astype(float)
    check(changes, exact.changes)
    # the pooled estimator is exactly the normalised pair counts
    sampled = emission_statistics(jnp.asarray(onehot))
    pooled = pairs.sum(0)
    np.testing.assert_allclose(sampled.transitions, pooled / pooled.sum(1, keepdims=True), rtol=1e-5)
    np.testing.assert_allclose(sampled.changes, changes.mean(), rtol=1e-5)
    np.testing.assert_allclose(sampled.marginals, onehot.mean((0, 1)), rtol=1e-5)


def _brute_force_statistics(hmm, n_time):
    """Exact expectations by enumerating every state and emission sequence."""
    a, b, p0 = (np.asarray(x, np.float64) for x in (hmm.transition, hmm.emission, hmm.initial))
    m = len(p0)
    marginals, pairs, changes = np.zeros((n_time, 3)), np.zeros((3, 3)), 0.0
    for s in itertools.product(range(m), repeat=n_time):
        ps = p0[s[0]] * np.prod([a[s[t], s[t + 1]] for t in range(n_time - 1)])
        for o in itertools.product(range(3), repeat=n_time):
            p = ps * np.prod([b[s[t], o[t]] for t in range(n_time)])
            for t in range(n_time):
                marginals[t, o[t]] += p
            for t in range(n_time - 1):
                pairs[o[t], o[t + 1]] += p
                changes += p * (o[t] != o[t + 1])
    return marginals, pairs / pairs.sum(1, keepdims=True), changes


def test_analytic_statistics_by_enumeration():
    rng = np.random.default_rng(0)
    a = rng.dirichlet(np.ones(2), size=2)
    b = rng.dirichlet(np.ones(3), size=2)
    hmm = HMM(a, b, initial=[0.8, 0.2])  # not stationary: the marginals move with t
    marginals, transitions, changes = _brute_force_statistics(hmm, 4)
    exact = analytic_emission_statistics(hmm, 4)
    np.testing.assert_allclose(exact.time_marginals, marginals, atol=1e-5)
    np.testing.assert_allclose(exact.transitions, transitions, atol=1e-5)
    assert float(exact.changes) == pytest.approx(changes, abs=1e-5)


def test_cyclic_hmm_emissions_and_exact_statistics():
    # The study's cyclic HMM: rows are states; the ring emits 0 -> 1 -> 2 -> 1 -> 0.
    cyc = cyclic_hmm()
    expected = [[0.9, 0.1, 0.0], [0.1, 0.9, 0.0], [0.0, 0.1, 0.9], [0.0, 0.9, 0.1]]
    np.testing.assert_allclose(cyc.emission, expected, rtol=1e-7)
    np.testing.assert_allclose(stationary_emission_marginals(cyc), [0.25, 0.5, 0.25], atol=1e-6)
    # the uniform start is stationary (the ring is doubly stochastic): P(o_t) is constant
    exact = analytic_emission_statistics(cyc, 40)
    np.testing.assert_allclose(exact.time_marginals, [[0.25, 0.5, 0.25]] * 40, atol=1e-6)
    # changes per sequence: (T - 1) (1 - sum_o P(o_t = o_{t+1} = o)), in float64 by hand
    a, b = np.asarray(cyc.transition, np.float64), np.asarray(expected, np.float64)
    pairs = np.einsum("s,so,sr,rp->op", np.full(4, 0.25), b, a, b)
    assert float(exact.changes) == pytest.approx(39 * (1 - np.trace(pairs)), rel=1e-6)
    assert float(exact.changes) == pytest.approx(8.36, abs=5e-3)  # the study's value at L = 40
    np.testing.assert_allclose(exact.transitions, pairs / pairs.sum(1, keepdims=True), atol=1e-6)
    # and against enumerating every state and emission sequence of length 3
    marginals, transitions, changes = _brute_force_statistics(cyc, 3)
    short = analytic_emission_statistics(cyc, 3)
    np.testing.assert_allclose(short.time_marginals, marginals, atol=1e-6)
    np.testing.assert_allclose(short.transitions, transitions, atol=1e-6)
    assert float(short.changes) == pytest.approx(changes, abs=1e-6)
    # an explicit emission still overrides the default
    np.testing.assert_allclose(cyclic_hmm(np.full((4, 3), 1 / 3)).emission, 1 / 3, rtol=1e-6)


def test_stationary_distribution():
    for hmm in (linear_chain_hmm(4), fully_connected_hmm(), cyclic_hmm()):
        np.testing.assert_allclose(stationary_distribution(hmm), 1 / hmm.n_states, atol=1e-5)
    rng = np.random.default_rng(1)
    hmm = HMM(rng.dirichlet(np.ones(3), size=3), rng.dirichlet(np.ones(3), size=3))
    pi = stationary_distribution(hmm)
    np.testing.assert_allclose(pi @ hmm.transition, pi, atol=1e-5)
    np.testing.assert_allclose(stationary_emission_marginals(hmm), pi @ hmm.emission, atol=1e-6)
    # from a uniform start, the 2-state chain's marginals are constant: 0.495, 0.01, 0.495
    np.testing.assert_allclose(
        analytic_emission_statistics(linear_chain_hmm(2), 30).time_marginals, [[0.495, 0.01, 0.495]] * 30, atol=1e-6
    )


def test_hmm_validation():
    with pytest.raises(ValueError, match="every row of transition must sum to 1"):
        HMM([[0.5, 0.4], [0.5, 0.5]], linear_chain_hmm(2).emission)
    with pytest.raises(ValueError, match=r"expected transition \[M, M\], emission \[M, 3\]"):
        HMM(np.eye(2), np.ones((2, 2)) / 2)
    with pytest.raises(ValueError, match=r"emission=.* outside the allowed range \[0, 1\]"):
        HMM(np.eye(2), [[1.5, -0.5, 0.0], [0, 0, 1]])
    with pytest.raises(ValueError, match="n_states must be an integer >= 2, got 1"):
        linear_chain_hmm(1)
