"""Flip-flop targets and mask, checked against a brute-force replay of the inputs."""

import jax
import jax.random as jr
import numpy as np
import pytest

from neurodyn.tasks import FlipFlop


@pytest.mark.parametrize("pulse_width", [1, 3])
def test_targets_hold_the_last_pulse_sign(pulse_width):
    task = FlipFlop(n_bits=3, p=0.1, pulse_width=pulse_width, n_time=60)
    trials = task.sample_batch(32, key=jr.key(pulse_width))
    inputs, targets, mask = (np.asarray(a) for a in (trials.inputs, trials.targets, trials.mask))
    assert set(np.unique(inputs)) <= {-1.0, 0.0, 1.0}
    n_pulses = 0
    for b in range(inputs.shape[0]):
        for c in range(task.n_bits):
            last = 0.0
            for t in range(task.n_time):
                u = inputs[b, t, c]
                if u != 0:
                    n_pulses += last != u or t == 0 or inputs[b, t - 1, c] == 0
                    last = u
                assert targets[b, t, c] == last
                assert mask[b, t, c] == float(last != 0 and u == 0)
    assert n_pulses > 100  # the replay saw many pulses


def test_metric_is_sign_accuracy_on_masked_steps():
    task = FlipFlop(n_bits=2, p=0.2, n_time=40)
    trials = task.sample_batch(8, key=jr.key(0))
    perfect = np.asarray(trials.targets) * 0.5
    assert float(task.metric(perfect[0], _first(trials))) == 1.0
    wrong = -perfect
    assert float(task.metric(wrong[0], _first(trials))) == 0.0


def test_batch_metric_leaves_out_trials_with_nothing_to_score():
    """A 1-bit trial without a pulse has an empty mask: it is not scored (the per-trial
    metric would call it 0 % correct), so perfect outputs score exactly 1."""
    task = FlipFlop(n_bits=1, p=0.02, n_time=20)
    trials = task.sample_batch(64, key=jr.key(1))
    empty = ~np.asarray(trials.mask).any(axis=(1, 2))
    assert 0 < empty.sum() < 64  # the batch has trials of both kinds
    perfect = np.asarray(trials.targets) * 0.5
    assert float(task.batch_metric(perfect, trials)) == 1.0
    per_trial = np.asarray(jax.vmap(task.metric)(perfect, trials))
    assert per_trial[empty].max() == 0.0  # what a plain mean would have averaged in
    # half right on the scored trials: flip the sign on every other scored trial
    scored = np.flatnonzero(~empty)
    flipped = perfect.copy()
    flipped[scored[::2]] *= -1
    assert float(task.batch_metric(flipped, trials)) == pytest.approx(1 - len(scored[::2]) / len(scored))
    nothing = jax.tree.map(lambda a: a[empty], trials)
    assert np.isnan(float(task.batch_metric(perfect[empty], nothing)))


def _first(trials):
    return jax.tree.map(lambda a: a[0], trials)


def test_input_noise_and_ood():
    noisy = FlipFlop(n_bits=2, input_noise=0.5, n_time=50)
    clean = FlipFlop(n_bits=2, input_noise=0.0, n_time=50)
    key = jr.key(1)
    residual = np.asarray(noisy.sample_batch(64, key=key).inputs - clean.sample_batch(64, key=key).inputs)
    # same pulses, Gaussian noise of std 0.5: z-score of the sample std (SE = σ/√(2n)) < 5
    assert abs(residual.std() - 0.5) / (0.5 / np.sqrt(2 * residual.size)) < 5
    ood = noisy.ood()
    assert ood.n_time == 100 and float(ood.input_noise) == 0.5 and ood.n_bits == 2
