"""Sine generation, path integration and head direction: targets rebuilt from the inputs."""

import jax
import jax.random as jr
import numpy as np
import pytest

from neurodyn.tasks import HeadDirection, PathIntegration, SineGeneration
from neurodyn.tasks._sine import FREQUENCY_SCALE, INPUT_OFFSET


def test_sine_targets_from_the_frequency_cue():
    task = SineGeneration(n_channels=2, n_time=80)
    trials = task.sample_batch(32, key=jr.key(0))
    u = np.asarray(trials.inputs)
    assert np.all(u == u[:, :1])  # static cue
    f = (u[:, 0] - INPUT_OFFSET) * FREQUENCY_SCALE  # [trial, channel]
    assert f.min() >= 1.0 - 1e-4 and f.max() <= 30.0 + 1e-4
    t = np.arange(80)[:, None] * 0.005
    expected = np.sin(2 * np.pi * f[:, None, :] * t[None])
    np.testing.assert_allclose(trials.targets, expected, atol=2e-3)
    assert float(jax.vmap(task.metric)(trials.targets, trials).max()) == 0.0
    assert task.ood().n_time == 160


def _replay_2d(inputs, box):
    heading, speed = inputs[:, 0:2], inputs[:, 2:3]
    return inputs[0, 3:5] * box, speed * heading


def _replay_3d(inputs, box):
    ct, st, cp, sp, s = (inputs[:, i] for i in range(5))
    velocity = s[:, None] * np.stack([cp * ct, cp * st, sp], axis=1)
    return inputs[0, 5:8] * box, velocity


@pytest.mark.parametrize("dims", [2, 3])
def test_path_integration_is_a_clipped_cumulative_sum(dims):
    task = PathIntegration(dims=dims, n_time=120, speed_max=0.5)
    trials = task.sample_batch(40, key=jr.key(dims))
    inputs, targets = np.asarray(trials.inputs, dtype=np.float64), np.asarray(trials.targets)
    assert inputs.shape[-1] == task.input_size and targets.shape[-1] == dims
    replay = _replay_2d if dims == 2 else _replay_3d
    clipped = 0
    for b in range(inputs.shape[0]):
        start, velocity = replay(inputs[b], 5.0)
        assert np.all(np.abs(start) <= 5.0) and np.all(inputs[b, 1:, -dims:] == 0)
        p = start.copy()
        for t in range(task.n_time):
            free = p + velocity[t]
            clipped += np.any(np.abs(free) > 5.0)
            p = np.clip(free, -5.0, 5.0)
            np.testing.assert_allclose(targets[b, t], p, atol=1e-4)
    assert clipped > 10  # the walls were hit, so the rule was exercised


def test_path_integration_without_walls_is_the_cumulative_sum():
    task = PathIntegration(dims=2, box=1e4, n_time=50)
    trials = task.sample_batch(8, key=jr.key(7))
    inputs = np.asarray(trials.inputs, dtype=np.float64)
    for b in range(8):
        start, velocity = _replay_2d(inputs[b], 1e4)
        np.testing.assert_allclose(trials.targets[b], start + np.cumsum(velocity, 0), atol=2e-2)
    errors = jax.vmap(task.metric)(trials.targets + np.array([0.3, 0.4]), trials)
    np.testing.assert_allclose(errors, 0.5, rtol=1e-3)


@pytest.mark.parametrize("dims", [2, 3])
def test_normalised_path_integration_rescales_speed_and_targets_only(dims):
    raw = PathIntegration(dims=dims, n_time=60, box=3.0, speed_max=0.4)
    unit = PathIntegration(dims=dims, n_time=60, box=3.0, speed_max=0.4, normalise=True)
    a, b = raw.sample_batch(16, key=jr.key(5)), unit.sample_batch(16, key=jr.key(5))
    speed = 2 * (dims - 1)  # the speed channel follows the heading channels
    np.testing.assert_allclose(b.inputs[..., speed], a.inputs[..., speed] / 0.4, rtol=1e-6)
    others = [i for i in range(raw.input_size) if i != speed]
    np.testing.assert_array_equal(b.inputs[..., others], a.inputs[..., others])
    assert float(b.inputs[..., speed].max()) <= 1.0 and float(np.abs(b.targets).max()) <= 1.0
    np.testing.assert_allclose(b.targets, a.targets / 3.0, rtol=1e-6, atol=1e-7)
    # the metric stays in position units: the same position estimate, the same error
    estimate = a.targets + np.array([0.3, 0.4, 0.0][:dims])
    np.testing.assert_allclose(jax.vmap(raw.metric)(estimate, a), 0.5, rtol=1e-4)
    np.testing.assert_allclose(jax.vmap(unit.metric)(estimate / 3.0, b), 0.5, rtol=1e-4)
    assert unit.ood().normalise and unit.ood().n_time == 120


def test_head_direction_integrates_angular_velocity():
    task = HeadDirection(n_time=100, angular_std=0.3)
    trials = task.sample_batch(16, key=jr.key(8))
    inputs = np.asarray(trials.inputs, dtype=np.float64)
    for b in range(16):
        theta0 = np.arctan2(inputs[b, 0, 1], inputs[b, 0, 2])
        theta = theta0 + np.cumsum(inputs[b, :, 0])
        np.testing.assert_allclose(trials.targets[b], np.stack([np.sin(theta), np.cos(theta)], 1), atol=1e-4)
        assert np.all(inputs[b, 1:, 1:] == 0)
    metric = jax.vmap(task.metric)
    np.testing.assert_allclose(metric(3.0 * trials.targets, trials), 0.0, atol=1e-5)
    # rotating the output by 0.5 rad gives an angular error of 0.5
    s, c = trials.targets[..., 0], trials.targets[..., 1]
    rotated = np.stack([s * np.cos(0.5) + c * np.sin(0.5), c * np.cos(0.5) - s * np.sin(0.5)], -1)
    np.testing.assert_allclose(metric(rotated, trials), 0.5, atol=1e-4)
    assert task.ood().n_time == 200
