import jax
import jax.numpy as jnp
import jax.random as jr
import pytest

import neurodyn
from neurodyn import models, tasks


@pytest.mark.slow  # a full training run; `make demo` and its test train the same task
def test_ctrnn_learns_the_3bit_flipflop():
    task = tasks.FlipFlop(n_bits=3, p=0.05, pulse_width=2, n_time=50)
    model = models.CTRNN(3, 48, 3, tau=1.0, dt=0.2, key=jr.key(0))
    config = neurodyn.TrainConfig(
        learning_rate=1e-2, n_steps=1500, eval_every=250, epochs_per_call=6, batch_size=64, grad_clip=1.0
    )
    model, history = neurodyn.fit(model, task, config, key=jr.key(1))
    trials = task.sample_batch(512, key=jr.key(99))  # never seen in training
    outputs = jax.vmap(lambda x: model(x).output)(trials.inputs)
    mse = float(jnp.sum(trials.mask * (outputs - trials.targets) ** 2) / jnp.sum(trials.mask))
    accuracy = float(jnp.mean(jax.vmap(task.metric)(outputs, trials)))
    assert mse < 1e-2, mse
    assert accuracy >= 0.99, accuracy
    assert history.loss[-50:].mean() < history.loss[:50].mean() / 10
