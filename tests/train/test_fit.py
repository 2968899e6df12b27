import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import neurodyn
from neurodyn import models, tasks
from neurodyn.train import TRACE_COUNTS, TrainConfig
from neurodyn.train._group import fit_group


def tiny_setup(hidden=8, n_time=12, **model_kw):
    task = tasks.FlipFlop(n_bits=2, p=0.1, pulse_width=1, n_time=n_time)
    model_kw = {"tau": 1.0, "dt": 0.2, **model_kw}
    model = models.CTRNN(2, hidden, 2, key=jr.key(0), **model_kw)
    return model, task


def test_no_recompilation_for_a_new_learning_rate():
    model, task = tiny_setup()
    config = TrainConfig(learning_rate=1e-3, n_steps=4, eval_every=2, batch_size=4, eval_batch_size=4, epochs_per_call=1)
    neurodyn.fit(model, task, config, key=jr.key(1))
    after_first = TRACE_COUNTS["single"]
    for lr in (3e-3, 1e-2):
        other = TrainConfig(learning_rate=lr, n_steps=4, eval_every=2, batch_size=4, eval_batch_size=4, epochs_per_call=1)
        neurodyn.fit(model, task, other, key=jr.key(2))
    assert TRACE_COUNTS["single"] == after_first


def test_learning_rate_reaches_the_optimizer():
    model, task = tiny_setup()
    base = dict(n_steps=2, eval_every=2, batch_size=4, eval_batch_size=4)
    m0, _ = neurodyn.fit(model, task, TrainConfig(learning_rate=1e-12, **base), key=jr.key(1))
    m1, _ = neurodyn.fit(model, task, TrainConfig(learning_rate=1e-1, **base), key=jr.key(1))
    d0 = float(jnp.max(jnp.abs(m0.W_rec - model.W_rec)))
    d1 = float(jnp.max(jnp.abs(m1.W_rec - model.W_rec)))
    assert d0 < 1e-9
    # Adam moves each weight by about lr per step in its first steps.
    assert 0.05 < d1 < 0.25


def test_fit_group_equals_individual_fits():
    model, task = tiny_setup()
    model2 = models.CTRNN(2, 8, 2, tau=1.0, dt=0.2, key=jr.key(7))
    configs = [
        TrainConfig(learning_rate=lr, n_steps=6, eval_every=3, batch_size=4, eval_batch_size=4)
        for lr in (1e-3, 1e-2)
    ]
    keys = [jr.key(3), jr.key(4)]
    trained, hists = fit_group([model, model2], task, configs, keys=keys)
    for m, c, k, tm, h in zip([model, model2], configs, keys, trained, hists):
        single, sh = neurodyn.fit(m, task, c, key=k)
        np.testing.assert_allclose(tm.W_rec, single.W_rec, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(h.loss, sh.loss, rtol=1e-5)


def test_divergent_member_is_frozen_and_others_unaffected():
    model, task = tiny_setup()
    base = dict(n_steps=20, eval_every=5, batch_size=4, eval_batch_size=4, optimizer="sgd")
    good = TrainConfig(learning_rate=1e-2, **base)
    bad = TrainConfig(learning_rate=1e30, **base)
    keys = [jr.key(3), jr.key(4)]
    alone, alone_h = fit_group([model], task, [good], keys=keys[:1])
    both, both_h = fit_group([model, model], task, [good, bad], keys=keys)
    assert both_h[1].diverged and not both_h[0].diverged
    assert all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree_util.tree_leaves(eqx.filter(both[1], eqx.is_inexact_array)))
    assert both_h[1].steps < 20
    # Equal up to float32 rounding: XLA may order reductions differently for 1 and 2 members.
    np.testing.assert_allclose(both[0].W_rec, alone[0].W_rec, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(both_h[0].loss, alone_h[0].loss, rtol=1e-5)


def test_stopping_rule_threshold_and_patience():
    model, task = tiny_setup()
    config = TrainConfig(n_steps=100, eval_every=5, batch_size=4, eval_batch_size=4, loss_threshold=1e9, patience=3)
    _, hist = neurodyn.fit(model, task, config, key=jr.key(0))
    # Below threshold from the first epoch: done after exactly `patience` epochs.
    assert hist.done and hist.steps == 15
    config = TrainConfig(n_steps=20, eval_every=5, batch_size=4, eval_batch_size=4, loss_threshold=1e-30, patience=3)
    _, hist = neurodyn.fit(model, task, config, key=jr.key(0))
    assert hist.steps == 20 and len(hist.eval_loss) == 4


def test_dale_signs_survive_training():
    model, task = tiny_setup(dale=True, excitatory_fraction=0.75)
    trained, _ = neurodyn.fit(model, task, TrainConfig(learning_rate=5e-2, n_steps=10, eval_every=5, batch_size=4, eval_batch_size=4), key=jr.key(0))
    w = np.asarray(trained.recurrent_weights())
    sign = np.asarray(trained.sign)
    assert not np.allclose(trained.W_rec, model.W_rec)
    assert np.all(w * sign[None, :] >= 0)


def test_tau_is_clamped_during_training():
    model, task = tiny_setup(train_tau=True, tau=0.25)
    trained, _ = neurodyn.fit(model, task, TrainConfig(learning_rate=0.5, n_steps=10, eval_every=5, batch_size=4, eval_batch_size=4), key=jr.key(0))
    assert float(jnp.min(trained.tau)) >= 0.2 - 1e-7


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"optimizer": "adamm"}, "Did you mean 'adam'"),
        ({"learning_rate": -1.0}, r"learning_rate=-1.0 is outside the allowed range \(0, inf\)"),
        ({"batch_size": 0}, "batch_size must be an integer >= 1, got 0"),
        ({"optimizer_options": {"momentun": 0.9}, "optimizer": "sgd"}, "unknown option 'momentun'.*Did you mean 'momentum'"),
        ({"optimizer_options": {"b1": 1.5}}, r"b1=1.5 is outside the allowed range \[0, 1\]"),
        ({"grad_clip": 0.0}, r"grad_clip=0.0 is outside"),
        ({"l1": -0.1}, r"l1=-0.1 is outside"),
    ],
)
def test_bad_config_is_refused(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        TrainConfig(**kwargs)


def test_model_and_task_sizes_must_fit():
    task = tasks.FlipFlop(n_bits=3, n_time=10)
    model = models.CTRNN(2, 8, 2, key=jr.key(0))
    with pytest.raises(ValueError, match="input_size=2 .* the task FlipFlop has input_size=3"):
        neurodyn.fit(model, task, TrainConfig(n_steps=2, eval_every=2), key=jr.key(0))
