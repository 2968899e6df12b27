"""What every task promises: registry, shapes, key determinism, vmap over keys and over
array parameters, out-of-distribution variants, and pinned constructor errors."""

import inspect

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from neurodyn.tasks import (
    TASKS,
    AbstractTask,
    DelayedDiscrimination,
    DelayedMatchToSample,
    FlipFlop,
    HeadDirection,
    HMMEmulation,
    Parity,
    PathIntegration,
    SineGeneration,
)

# Two instances per registry name that differ only in array leaves: stacking them gives
# a task whose members vmap together.
SWEEPS = {
    "flipflop": [FlipFlop(p=0.02, n_time=30), FlipFlop(p=0.3, input_noise=0.1, n_time=30)],
    "parity": [Parity(2, n_cap=4), Parity(4, n_cap=4)],
    "dms": [DelayedMatchToSample(2, n_cap=5, heads="multi"), DelayedMatchToSample(5, n_cap=5, heads="multi")],
    "delayed_discrimination": [
        DelayedDiscrimination(delay_min=2, delay_max=4, delay_cap=10),
        DelayedDiscrimination(f_low=1.0, f_high=3.0, delay_min=8, delay_max=10, delay_cap=10),
    ],
    "sine": [SineGeneration(n_time=30), SineGeneration(f_low=5.0, f_high=6.0, dt=0.01, n_time=30)],
    "path_integration": [PathIntegration(n_time=30), PathIntegration(n_time=30, box=2.0, speed_max=1.0)],
    "head_direction": [HeadDirection(n_time=30), HeadDirection(n_time=30, angular_std=1.0)],
    "hmm": [HMMEmulation(n_time=12), HMMEmulation(n_time=12, noise_std=3.0, temperature=0.5)],
}


def test_registry_names_and_parameter_ranges():
    assert set(TASKS) == {
        "flipflop", "parity", "dms", "delayed_discrimination", "sine",
        "path_integration", "head_direction", "hmm",
    }
    for name, cls in TASKS.items():
        assert issubclass(cls, AbstractTask)
        params = set(inspect.signature(cls.__init__).parameters) - {"self"}
        assert params == set(cls.parameter_ranges), name
        assert cls.loss in ("mse", "cross_entropy", "sinkhorn")
        task = cls()
        assert task.n_time >= 1 and task.input_size >= 1 and task.output_size >= 1


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n == "hmm" else n for n in sorted(SWEEPS)]
)  # the HMM task's vmapping is also pinned in tests/tasks/test_sinkhorn.py
def test_keys_and_stacked_parameters_vmap(name):
    tasks = SWEEPS[name]
    keys = jr.split(jr.key(0), 2)
    batch = eqx.filter_jit(lambda t, k: t.sample_batch(3, key=k))
    trials = [batch(t, k) for t, k in zip(tasks, keys)]
    t0 = tasks[0]
    for trial in trials:
        assert trial.inputs.shape == (3, t0.n_time, t0.input_size)
        assert trial.targets.shape == trial.mask.shape == (3, t0.n_time, t0.output_size)
    # same key, same trials; another key, other trials
    np.testing.assert_array_equal(batch(t0, keys[0]).inputs, trials[0].inputs)
    assert not np.array_equal(batch(t0, keys[1]).inputs, trials[0].inputs)
    # stacked parameters: each member equals its own task's batch
    stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *tasks)
    together = eqx.filter_jit(eqx.filter_vmap(lambda t, k: t.sample_batch(3, key=k)))(stacked, keys)
    for i, trial in enumerate(trials):
        for field in ("inputs", "targets", "mask"):
            np.testing.assert_allclose(getattr(together, field)[i], getattr(trial, field), rtol=1e-5, atol=1e-6)
    # the metric vmaps over members too
    metric = eqx.filter_jit(eqx.filter_vmap(lambda t, tr: jax.vmap(t.metric)(tr.targets, tr)))
    assert metric(stacked, together).shape == (2, 3)


@pytest.mark.parametrize("name", sorted(TASKS))
def test_ood_variant(name):
    task = TASKS[name]()
    ood = task.ood()
    assert type(ood) is type(task)
    assert ood.input_size == task.input_size and ood.output_size == task.output_size
    assert ood.n_time > task.n_time
    if name != "delayed_discrimination":
        assert ood.n_time in (2 * task.n_time, 2 * task.n_time + 1)


ERRORS = [
    (lambda: FlipFlop(n_bits=0), ValueError, r"FlipFlop: n_bits must be an integer >= 1, got 0"),
    (lambda: FlipFlop(p=1.5), ValueError, r"FlipFlop: p=1.5 is outside the allowed range \(0, 1\]"),
    (lambda: FlipFlop(n_time=2.5), TypeError, r"FlipFlop: n_time must be an integer >= 1, got 2.5"),
    (lambda: FlipFlop(input_noise=-1.0), ValueError, r"input_noise=-1.0 is outside"),
    (lambda: Parity(0), ValueError, r"Parity: n_cap must be an integer >= 1, got 0"),
    (lambda: Parity(5, n_cap=3), ValueError, r"Parity: n=5 is outside the allowed range \[1, 3\]"),
    (lambda: Parity(2.0, n_cap=3), TypeError, r"Parity: n must be an integer"),
    (lambda: Parity(2, heads="many"), ValueError, r"heads='many' is not one of \['single', 'multi'\]"),
    (lambda: Parity(jnp.array([2, 3])), ValueError, r"Parity: n_cap is required when n is traced or an array"),
    (lambda: Parity(3, n_cap=4, active=[True, True]), ValueError, r"active must have n_cap=4 entries"),
    (lambda: Parity(3, n_cap=4, heads="multi", active=[True, True, False, False]), ValueError,
     r"the head for N = n must be active"),
    (lambda: Parity(3, n_cap=12, n_time=12), ValueError, r"n_time=12 is too short for n=3"),
    (lambda: Parity(3, n_cap=4, n_time=100), ValueError, r"n_time=100 is longer than the longest"),
    (lambda: DelayedMatchToSample(1, n_cap=3), ValueError,
     r"DelayedMatchToSample: n=1 is outside the allowed range \[2, 3\]"),
    (lambda: DelayedMatchToSample(2, n_cap=3, active=[True, True, True]), ValueError,
     r"N < 2 cannot be active"),
    (lambda: DelayedDiscrimination(delay_min=20, delay_max=5), ValueError,
     r"delay_min=20 must be at most delay_max=5; the range is inverted"),
    (lambda: DelayedDiscrimination(f_low=10.0, f_high=2.0), ValueError,
     r"f_low=10.0 must be smaller than f_high=2.0"),
    (lambda: DelayedDiscrimination(delay_min=-1), ValueError, r"delay_min=-1 is outside"),
    (lambda: DelayedDiscrimination(delay_max=30, delay_cap=20), ValueError,
     r"delay_max=30 must be at most delay_cap=20"),
    (lambda: DelayedDiscrimination(n_channels=-2), ValueError, r"n_channels must be an integer >= 1, got -2"),
    (lambda: DelayedDiscrimination(aux="yes"), TypeError, r"aux must be True or False"),
    (lambda: SineGeneration(dt=0.0), ValueError, r"SineGeneration: dt=0.0 is outside the allowed range \(0, inf\)"),
    (lambda: SineGeneration(f_low=30.0, f_high=1.0), ValueError, r"f_low=30.0 must be smaller than f_high=1.0"),
    (lambda: PathIntegration(dims=4), ValueError, r"PathIntegration: dims=4 is not supported; use dims=2 or dims=3"),
    (lambda: PathIntegration(box=-5.0), ValueError, r"box=-5.0 is outside"),
    (lambda: PathIntegration(speed_max=0.0), ValueError,
     r"PathIntegration: speed_max=0.0 is outside the allowed range \(0, inf\)"),
    (lambda: PathIntegration(normalise=1), TypeError, r"PathIntegration: normalise must be True or False, got 1"),
    (lambda: HeadDirection(angular_std=-0.1), ValueError, r"angular_std=-0.1 is outside"),
    (lambda: HMMEmulation("cyclc"), ValueError, r"hmm='cyclc' is not one of .* Did you mean 'cyclic'\?"),
    (lambda: HMMEmulation("cyclic", n_states=3), ValueError, r"the cyclic HMM has 4 states, got n_states=3"),
    (lambda: HMMEmulation(temperature=0.0), ValueError, r"temperature=0.0 is outside"),
    (lambda: HMMEmulation(n_time=1), ValueError, r"n_time must be an integer >= 2, got 1"),
]


@pytest.mark.parametrize("build, error, match", ERRORS)
def test_bad_parameters_raise_clear_errors(build, error, match):
    with pytest.raises(error, match=match):
        build()
