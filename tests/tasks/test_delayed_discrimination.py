"""Delayed discrimination: pulses, delays and targets recovered from the inputs."""

import jax
import jax.random as jr
import numpy as np

from neurodyn.tasks import DelayedDiscrimination
from neurodyn.tasks._delayed_discrimination import AMPLITUDE_SCALE

Z = 5.0


def _pulses(u):
    """(start, value) of each run of equal non-zero inputs."""
    runs, t = [], 0
    while t < len(u):
        if u[t] != 0:
            start = t
            while t < len(u) and u[t] == u[start]:
                t += 1
            runs.append((start, t, u[start]))
        else:
            t += 1
    return runs


def test_targets_from_pulses():
    task = DelayedDiscrimination(n_channels=2, aux=True, pulse_width=2, t_pre=3, response_time=4)
    trials = task.sample_batch(200, key=jr.key(0))
    inputs, targets, mask = (np.asarray(a) for a in (trials.inputs, trials.targets, trials.mask))
    delays = []
    for b in range(inputs.shape[0]):
        for c in range(task.n_channels):
            (s1, e1, a1), (s2, e2, a2) = _pulses(inputs[b, :, c])
            assert s1 == 3 and e1 - s1 == 2 and e2 - s2 == 2
            delays.append(s2 - e1)
            f1, f2 = a1 / AMPLITUDE_SCALE, a2 / AMPLITUDE_SCALE
            assert 2.0 <= f1 <= 10.0 and 2.0 <= f2 <= 10.0
            response = np.zeros(task.n_time, bool)
            response[e2 : e2 + 4] = True
            np.testing.assert_array_equal(mask[b, :, c], response)
            np.testing.assert_array_equal(mask[b, :, c + 2], response)
            np.testing.assert_array_equal(targets[b, :, c], np.where(response, np.sign(f2 - f1), 0))
            np.testing.assert_allclose(
                targets[b, :, c + 2], np.where(response, AMPLITUDE_SCALE * (f2 - f1), 0), atol=1e-6
            )
    delays = np.array(delays)
    assert delays.min() == 5 and delays.max() == 20
    counts = np.bincount(delays - 5, minlength=16)
    p = 1 / 16
    z = (counts - len(delays) * p) / np.sqrt(len(delays) * p * (1 - p))
    assert np.all(np.abs(z) < Z)


def test_metric_and_ood():
    task = DelayedDiscrimination(n_channels=3)
    trials = task.sample_batch(16, key=jr.key(1))
    metric = jax.jit(jax.vmap(task.metric))
    np.testing.assert_array_equal(metric(trials.targets, trials), 1.0)
    np.testing.assert_array_equal(metric(-trials.targets, trials), 0.0)
    ood = task.ood()
    assert (int(ood.delay_min), int(ood.delay_max), ood.delay_cap) == (10, 40, 40)
    assert ood.n_time == task.n_time + 20
    assert task.n_time == 5 + 2 + 20 + 5
