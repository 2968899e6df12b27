"""Per-task training runs reach the levels of issue 6 (slow: `make test-slow`).

Each trains one small network with `neurodyn.fit` and then measures the task's own
metric on a fresh held-out batch. The runs skip cleanly where the trainer or the models
are missing (they are built apart from the tasks).
"""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import neurodyn
from neurodyn.tasks import (
    DelayedDiscrimination,
    DelayedMatchToSample,
    FlipFlop,
    HMMEmulation,
    Parity,
    PathIntegration,
    SineGeneration,
    emission_statistics,
    linear_chain_hmm,
)

pytestmark = pytest.mark.slow


def _train(task, hidden_size, *, seed=0, model_options=None, **config):
    fit = getattr(neurodyn, "fit", None)
    train_config = getattr(neurodyn, "TrainConfig", None)
    models = pytest.importorskip("neurodyn.models")
    rnn = getattr(models, "VanillaRNN", None)
    if fit is None or train_config is None or rnn is None:
        pytest.skip("neurodyn.fit, neurodyn.TrainConfig or neurodyn.models.VanillaRNN is missing")
    mkey, fkey = jr.split(jr.key(seed))
    model = rnn(task.input_size, hidden_size, task.output_size, key=mkey, **(model_options or {}))
    model, history = fit(model, task, train_config(**config), key=fkey)
    assert not history.diverged
    return model


def _outputs(model, trials):
    return jax.vmap(lambda u: model(u).output)(trials.inputs)


def _held_out_metric(model, task, n=512, seed=123):
    trials = task.sample_batch(n, key=jr.key(seed))
    return float(jnp.mean(jax.vmap(task.metric)(_outputs(model, trials), trials)))


def test_flipflop_reaches_99_percent():
    task = FlipFlop(n_bits=3, n_time=100)
    model = _train(task, 64, optimizer="adam", learning_rate=3e-3, batch_size=64, n_steps=3000, grad_clip=1.0)
    assert _held_out_metric(model, task) >= 0.99


@pytest.mark.parametrize("cls", [Parity, DelayedMatchToSample])
def test_three_parity_and_dms_reach_95_percent(cls):
    task = cls(3, n_cap=3)
    model = _train(task, 64, optimizer="adam", learning_rate=3e-3, batch_size=128, n_steps=4000, grad_clip=2.0)
    assert _held_out_metric(model, task) >= 0.95


def test_delayed_discrimination_reaches_90_percent():
    # Adam's step decays to 0 over the run (cosine): held-out accuracy 0.98-0.99 for seeds 0-3.
    # At a constant 3e-3 the last steps keep jumping around the solution and the accuracy
    # lands anywhere in 0.89-0.93 with the seed and the CPU's rounding (0.893 for seed 0 on
    # an AVX2-only machine).
    task = DelayedDiscrimination()
    model = _train(task, 64, optimizer="adam", learning_rate=3e-3, batch_size=64, n_steps=3000, grad_clip=1.0,
                   lr_schedule="cosine_decay", lr_schedule_options={"decay_steps": 3000})
    assert _held_out_metric(model, task) >= 0.90


def test_sine_generation_mse_below_0_05():
    task = SineGeneration()
    model = _train(task, 128, optimizer="adam", learning_rate=1e-3, batch_size=64, n_steps=6000, grad_clip=1.0)
    assert _held_out_metric(model, task) < 0.05


def test_2d_path_integration_error_below_0_5():
    # Unit-scale coding (targets p/box, speed s/speed_max; the metric stays in position
    # units) and Adam stepped down 5e-4 → 1.5e-4 → 4.5e-5. With raw ±5 targets the same
    # run ends near 1.0; at a constant 1e-3 and batch 64 near 0.8 (the issue 6 report).
    task = PathIntegration(dims=2, normalise=True)
    model = _train(task, 128, optimizer="adam", learning_rate=5e-4, batch_size=128, n_steps=1100, grad_clip=1.0)
    for phase, learning_rate in enumerate((1.5e-4, 4.5e-5), start=1):
        config = neurodyn.TrainConfig(
            optimizer="adam", learning_rate=learning_rate, batch_size=128, n_steps=1100, grad_clip=1.0
        )
        model, history = neurodyn.fit(model, task, config, key=jr.key(100 + phase))
        assert not history.diverged
    assert _held_out_metric(model, task) < 0.5


def test_two_state_hmm_marginals_within_0_05():
    task = HMMEmulation(linear_chain_hmm(2), n_time=30, input_size=10)
    model = _train(
        task, 64, model_options={"activation": "relu", "bias": False, "readout_bias": False},
        optimizer="adam", learning_rate=1e-3, batch_size=256, n_steps=3000, grad_clip=0.9,
    )
    trials = task.sample_batch(1024, key=jr.key(7))
    emitted = task.sample_emissions(_outputs(model, trials), key=jr.key(8))
    sampled = emission_statistics(emitted)
    exact = task.analytic_statistics()
    np.testing.assert_allclose(sampled.marginals, exact.marginals, atol=0.05)
