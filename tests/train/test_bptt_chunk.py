"""Memory-light BPTT (`TrainConfig.bptt_chunk`): the same numbers, less memory."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from neurodyn import models, tasks
from neurodyn.train import TrainConfig, Trainer, run_chunk


@pytest.mark.parametrize("n_time, chunk", [(12, 4), (13, 4), (5, 8), (9, 1)])
@pytest.mark.parametrize("noisy", [False, True])
def test_chunked_outputs_equal_the_plain_run(n_time, chunk, noisy):
    m = models.CTRNN(2, 7, 3, dt=0.2, noise_std=0.3 if noisy else 0.0, key=jr.key(0))
    x = jr.normal(jr.key(1), (n_time, 2))
    key = jr.key(2) if noisy else None
    traj = m(x, key=key)
    y, sq = m.chunked_outputs(x, chunk=chunk, key=key)
    np.testing.assert_allclose(y, traj.output, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(sq, jnp.sum(jnp.tanh(traj.state) ** 2), rtol=1e-5)


@pytest.mark.parametrize("model", ["ctrnn", pytest.param("lstm", marks=pytest.mark.slow)])
def test_training_with_bptt_chunk_gives_the_same_gradients_and_steps(model):
    task = tasks.FlipFlop(n_bits=2, n_time=15, p=0.1)
    if model == "ctrnn":
        net = models.CTRNN(2, 8, 2, dt=0.2, key=jr.key(0))
    else:
        net = models.LSTM(2, 8, 2, key=jr.key(0))
    common = dict(batch_size=4, n_steps=4, eval_every=2, eval_batch_size=4, rate=0.1, l2=0.01)
    plain, light = TrainConfig(**common), TrainConfig(**common, bptt_chunk=4)
    assert plain.static_key() != light.static_key()
    tp, tl = Trainer(plain), Trainer(light)
    sp, sl = tp.init(net, task, plain, key=jr.key(3)), tl.init(net, task, light, key=jr.key(3))
    trials = task.sample_batch(4, key=jr.key(4))
    params, static = eqx.partition(sp.model, sp.model.trainable())
    gp, (lp, _) = eqx.filter_grad(tp.objective, has_aux=True)(params, static, sp, trials, jr.key(5))
    gl, (ll, _) = eqx.filter_grad(tl.objective, has_aux=True)(params, static, sl, trials, jr.key(5))
    assert float(lp) == pytest.approx(float(ll), rel=1e-6)
    for a, b in zip(jax.tree.leaves(gp), jax.tree.leaves(gl)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-7)
    ap, logp = run_chunk(tp, sp)
    al, logl = run_chunk(tl, sl)
    np.testing.assert_allclose(logp.loss, logl.loss, rtol=1e-5)
    for a, b in zip(jax.tree.leaves(eqx.filter(ap.model, eqx.is_array)), jax.tree.leaves(eqx.filter(al.model, eqx.is_array))):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def _temp_bytes(n_time: int, chunk: int | None) -> int:
    """Scratch memory XLA plans for one gradient of a batch-32, H = 64 CTRNN (no timing)."""
    task = tasks.FlipFlop(n_bits=2, n_time=n_time, p=0.05)
    net = models.CTRNN(2, 64, 2, dt=0.1, key=jr.key(0))
    config = TrainConfig(batch_size=32, bptt_chunk=chunk)
    trainer = Trainer(config)
    state = trainer.init(net, task, config, key=jr.key(1))
    trials = task.sample_batch(32, key=jr.key(2))
    params, static = eqx.partition(state.model, state.model.trainable())
    grad = eqx.filter_grad(trainer.objective, has_aux=True)
    fn = jax.jit(lambda p: grad(p, static, state, trials, jr.key(3)))
    return fn.lower(params).compile().memory_analysis().temp_size_in_bytes


@pytest.mark.slow  # compiles four trial lengths
def test_bptt_chunk_memory_grows_like_sqrt_t():
    plain = {t: _temp_bytes(t, None) for t in (400, 1600)}
    light = {t: _temp_bytes(t, int(t**0.5)) for t in (400, 1600)}
    # keeping every step: memory ∝ T (4× the steps, ≈ 4× the memory)
    assert plain[1600] / plain[400] > 3.5
    # chunks of √T: ∝ √T plus the outputs (4× the steps, about 2× the memory)
    assert light[1600] / light[400] < 2.6
    assert light[1600] < plain[1600] / 4


def test_bptt_chunk_must_be_a_positive_integer():
    with pytest.raises(ValueError, match="bptt_chunk"):
        TrainConfig(bptt_chunk=0)


@pytest.mark.slow  # two sweeps; the equality itself is checked fast above
def test_a_sweep_spec_sets_bptt_chunk_and_trains_the_same(tmp_path):
    import neurodyn
    from neurodyn import store

    spec = {
        "task": {"name": "flipflop", "n_bits": 2, "n_time": 10},
        "model": {"name": "ctrnn", "hidden_size": 6, "dt": 0.2},
        "train": {"learning_rate": 1e-2, "n_steps": 4, "eval_every": 2, "batch_size": 4, "eval_batch_size": 4},
        "sweep": {"seeds": 2, "trajectories": 2},
    }
    neurodyn.run_sweep(spec, tmp_path / "plain.zarr", progress=False)
    spec["train"]["bptt_chunk"] = 3.0  # TOML-style float for an integer key
    neurodyn.run_sweep(spec, tmp_path / "light.zarr", progress=False)
    a = store.read_group(tmp_path / "plain.zarr", "g0").load()
    b = store.read_group(tmp_path / "light.zarr", "g0").load()
    np.testing.assert_allclose(a["loss"].values, b["loss"].values, rtol=1e-5)
    np.testing.assert_allclose(a["final_W_rec"].values, b["final_W_rec"].values, rtol=1e-4, atol=1e-6)
    spec["train"]["bptt_chunk"] = -1
    with pytest.raises(ValueError, match="bptt_chunk"):
        neurodyn.run_sweep(spec, tmp_path / "bad.zarr", progress=False)
    assert not (tmp_path / "bad.zarr").exists()
