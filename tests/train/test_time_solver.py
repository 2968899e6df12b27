"""Training with a parallel-in-time solver (`TrainConfig(time_solver=...)`) equals training
with the scan: the same trajectories to the solver's tolerance and implicit gradients
equal to autodiff through the scan."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import neurodyn
from neurodyn import models, tasks
from neurodyn.train import TrainConfig, train_config


def _fit(time_solver, *, noise_std=0.0, x64=False):
    with jax.enable_x64(x64):
        task = tasks.FlipFlop(n_bits=2, p=0.1, pulse_width=1, n_time=16)
        model = models.VanillaRNN(2, 8, 2, key=jr.key(0), noise_std=noise_std)
        if x64:
            model = jax.tree.map(lambda x: x.astype(jnp.float64) if eqx_float(x) else x, model)
        config = TrainConfig(optimizer="sgd", learning_rate=0.5, n_steps=6, eval_every=3, batch_size=4,
                             eval_batch_size=4, time_solver=time_solver)
        trained, history = neurodyn.fit(model, task, config, key=jr.key(1))
        return model, trained, history


def eqx_float(x):
    return isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jnp.floating)


@pytest.mark.parametrize("method", ["deer", "quasi_deer", "elk"])  # "auto" scans on a CPU
def test_parallel_training_equals_the_scan_float64(method):
    start, scanned, h_scan = _fit("scan", x64=True)
    _, solved, h_solved = _fit(method, x64=True)
    assert scanned.W_rec.dtype == jnp.float64
    moved = float(np.max(np.abs(np.asarray(scanned.W_rec) - np.asarray(start.W_rec))))
    assert moved > 1e-3  # training did something
    np.testing.assert_allclose(solved.W_rec, scanned.W_rec, rtol=0, atol=1e-9 * max(1.0, moved))
    np.testing.assert_allclose(h_solved.loss, h_scan.loss, rtol=1e-9)
    np.testing.assert_allclose(h_solved.eval_loss, h_scan.eval_loss, rtol=1e-9)


def test_parallel_training_with_process_noise_draws_the_same_noise():
    _, scanned, h_scan = _fit("scan", noise_std=0.05, x64=True)
    _, solved, h_solved = _fit("deer", noise_std=0.05, x64=True)
    np.testing.assert_allclose(solved.W_rec, scanned.W_rec, rtol=0, atol=1e-9)
    np.testing.assert_allclose(h_solved.loss, h_scan.loss, rtol=1e-9)


def test_time_solver_is_checked_and_part_of_the_compiled_structure():
    with pytest.raises(ValueError, match=r"time_solver='dear' is not one of .* Did you mean 'deer'"):
        TrainConfig(time_solver="dear")
    with pytest.raises(ValueError, match="time_solver='deer' and bptt_chunk=4 cannot be combined"):
        TrainConfig(time_solver="deer", bptt_chunk=4)
    assert TrainConfig(time_solver="deer").static_key() != TrainConfig().static_key()
    assert train_config({"time_solver": "quasi_deer"}).time_solver == "quasi_deer"
    spec = neurodyn.SweepSpec.from_dict({
        "task": {"name": "flipflop", "n_bits": 2, "n_time": 10},
        "model": {"name": "vanilla", "hidden_size": 8},
        "train": {"n_steps": 4, "eval_every": 2, "time_solver": "deer"},
        "sweep": {},
    })
    assert spec.validate(check_train=neurodyn.train.check_train_section)[0].train["time_solver"] == "deer"
