"""Learning-rate schedules by name, optax schedules and optax transformations in training.

The named schedules are checked step by step against optax's own constructors (the
reference for their formulas); training with a named schedule is checked against
training with the same optax schedule and with a plain optax transformation."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
import pytest

import neurodyn
from neurodyn import models, tasks
from neurodyn.spec import OPTIMIZERS
from neurodyn.sweep import plan_sweep
from neurodyn.train import TRACE_COUNTS, TrainConfig, train_config
from neurodyn.train._group import fit_group
from neurodyn.train._schedules import schedule_value

PEAK = 1e-2
STEPS = jnp.arange(0.0, 3001.0)

CASES = [
    ("constant", {}, {}, optax.constant_schedule(PEAK)),
    ("linear", {"end_value": 1e-4, "transition_steps": 1000, "transition_begin": 200}, {},
     optax.linear_schedule(PEAK, 1e-4, 1000, 200)),
    ("cosine_decay", {"decay_steps": 2000, "alpha": 0.1, "exponent": 2.0}, {},
     optax.cosine_decay_schedule(PEAK, 2000, 0.1, 2.0)),
    ("exponential_decay", {"transition_steps": 300, "decay_rate": 0.5, "transition_begin": 100, "end_value": 1e-4}, {},
     optax.exponential_decay(PEAK, 300, 0.5, 100, False, 1e-4)),
    ("exponential_decay", {"transition_steps": 300, "decay_rate": 1.5, "end_value": 0.05}, {"staircase": True},
     optax.exponential_decay(PEAK, 300, 1.5, 0, True, 0.05)),
    ("warmup_cosine_decay", {"init_value": 1e-4, "warmup_steps": 250, "decay_steps": 2500, "end_value": 1e-5}, {},
     optax.warmup_cosine_decay_schedule(1e-4, PEAK, 250, 2500, 1e-5)),
    ("warmup_exponential_decay", {"warmup_steps": 250, "transition_steps": 200, "decay_rate": 0.7,
                                  "transition_begin": 50}, {"staircase": True},
     optax.warmup_exponential_decay_schedule(0.0, PEAK, 250, 200, 0.7, 50, True)),
]


@pytest.mark.parametrize("name, numbers, flags, reference", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_named_schedules_equal_optax_at_every_step(name, numbers, flags, reference):
    config = TrainConfig(lr_schedule=name, lr_schedule_options={**numbers, **flags}, learning_rate=PEAK)
    filled, got_flags = config.schedule_numbers()
    assert got_flags == flags
    ours = jax.vmap(lambda t: schedule_value(name, t, PEAK, filled, flags))(STEPS)
    theirs = jax.vmap(reference)(STEPS)
    np.testing.assert_allclose(ours, theirs, rtol=2e-6, atol=1e-9)


def test_schedule_numbers_may_be_traced():
    """optax's warmup_cosine_decay_schedule compares warmup_steps and decay_steps in
    Python; here both are traced, vmapped over values, and equal optax per value."""
    warm = jnp.array([10.0, 50.0, 200.0])
    decay = jnp.array([500.0, 800.0, 1000.0])
    values = jax.vmap(lambda w, d: jax.vmap(
        lambda t: schedule_value("warmup_cosine_decay", t, PEAK, {"warmup_steps": w, "decay_steps": d,
                                                                   "init_value": 0.0, "end_value": 1e-5,
                                                                   "exponent": 1.0}, {}))(STEPS))(warm, decay)
    for row, w, d in zip(values, [10, 50, 200], [500, 800, 1000]):
        np.testing.assert_allclose(row, jax.vmap(optax.warmup_cosine_decay_schedule(0.0, PEAK, w, d, 1e-5))(STEPS),
                                   rtol=2e-6, atol=1e-9)


def _setup():
    task = tasks.FlipFlop(n_bits=2, p=0.1, pulse_width=1, n_time=12)
    model = models.CTRNN(2, 8, 2, tau=1.0, dt=0.2, key=jr.key(0))
    return model, task


BASE = dict(n_steps=12, eval_every=4, batch_size=4, eval_batch_size=4)


def test_training_with_a_named_schedule_equals_optax_schedule_and_transformation():
    """SGD (momentum 0.5) under a warm-up/cosine schedule, three ways: by name, as an
    optax schedule for `learning_rate`, and as a whole optax transformation with clipping
    done by neurodyn; the trained weights agree, and differ from a constant rate."""
    model, task = _setup()
    sched = optax.warmup_cosine_decay_schedule(0.0, 0.05, 3, 10, 1e-3)
    named = TrainConfig(optimizer="sgd", learning_rate=0.05, optimizer_options={"momentum": 0.5}, grad_clip=1.0,
                        lr_schedule="warmup_cosine_decay",
                        lr_schedule_options={"warmup_steps": 3, "decay_steps": 10, "end_value": 1e-3}, **BASE)
    callable_lr = TrainConfig(optimizer="sgd", learning_rate=sched, optimizer_options={"momentum": 0.5},
                              grad_clip=1.0, **BASE)
    transformation = TrainConfig(optimizer=optax.sgd(sched, momentum=0.5), grad_clip=1.0, **BASE)
    constant = TrainConfig(optimizer="sgd", learning_rate=0.05, optimizer_options={"momentum": 0.5}, grad_clip=1.0,
                           **BASE)
    out = {}
    for label, config in [("named", named), ("callable", callable_lr), ("gt", transformation), ("constant", constant)]:
        out[label], _ = neurodyn.fit(model, task, config, key=jr.key(1))
    for label in ("callable", "gt"):
        np.testing.assert_allclose(out[label].W_rec, out["named"].W_rec, rtol=1e-5, atol=1e-7)
    moved = float(jnp.max(jnp.abs(out["named"].W_rec - model.W_rec)))
    assert moved > 1e-3
    assert float(jnp.max(jnp.abs(out["constant"].W_rec - out["named"].W_rec))) > 0.05 * moved


def test_members_with_different_schedule_numbers_share_one_program():
    model, task = _setup()
    model2 = models.CTRNN(2, 8, 2, tau=1.0, dt=0.2, key=jr.key(7))
    configs = [
        TrainConfig(learning_rate=1e-2, lr_schedule="warmup_cosine_decay",
                    lr_schedule_options={"warmup_steps": w, "decay_steps": 12}, **BASE)
        for w in (2, 6)
    ]
    assert configs[0].static_key() == configs[1].static_key()
    keys = [jr.key(3), jr.key(4)]
    trained, hists = fit_group([model, model2], task, configs, keys=keys)
    for m, c, k, tm, h in zip([model, model2], configs, keys, trained, hists):
        single, sh = neurodyn.fit(m, task, c, key=k)
        np.testing.assert_allclose(tm.W_rec, single.W_rec, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(h.loss, sh.loss, rtol=1e-5)
    before = TRACE_COUNTS["single"]
    other = TrainConfig(learning_rate=3e-2, lr_schedule="warmup_cosine_decay",
                        lr_schedule_options={"warmup_steps": 5, "decay_steps": 9}, **BASE)
    neurodyn.fit(model, task, other, key=jr.key(5))
    assert TRACE_COUNTS["single"] == before  # new numbers, no new trace
    # A different schedule, or an optional option present, is another structure.
    assert TrainConfig(lr_schedule="cosine_decay", lr_schedule_options={"decay_steps": 9}).static_key() != \
        other.static_key()
    a = TrainConfig(lr_schedule="exponential_decay", lr_schedule_options={"transition_steps": 5, "decay_rate": 0.5})
    b = TrainConfig(lr_schedule="exponential_decay",
                    lr_schedule_options={"transition_steps": 5, "decay_rate": 0.5, "end_value": 1e-4})
    assert a.static_key() != b.static_key()


def _spec(**train):
    return neurodyn.spec.SweepSpec.from_dict({
        "task": {"name": "flipflop", "n_bits": 2, "n_time": 10},
        "model": {"name": "ctrnn", "hidden_size": 8, "dt": 0.2},
        "train": {"n_steps": 4, "eval_every": 2, "batch_size": 4, "eval_batch_size": 4, **train},
        "sweep": {},
    })


def test_a_spec_sweeps_schedule_numbers_in_one_group():
    spec = _spec(lr_schedule="warmup_cosine_decay", lr_warmup_steps=[1, 2], lr_decay_steps=4, lr_end_value=0)
    plan = plan_sweep(spec)
    assert len(plan.groups) == 1 and len(plan.groups[0].members) == 2
    configs = [train_config(m.train) for m in spec.validate()]
    assert [c.lr_schedule_options["warmup_steps"] for c in configs] == [1, 2]
    assert [c.numeric()["lr_warmup_steps"] for c in configs] == [1.0, 2.0]
    assert configs[0].numeric()["lr_end_value"] == 0.0 and configs[0].numeric()["lr_exponent"] == 1.0


@pytest.mark.parametrize(
    "train, match",
    [
        ({"lr_schedule": "cosine"}, "lr_schedule='cosine' is not one of .* Did you mean 'cosine_decay'"),
        ({"lr_schedule": "cosine_decay", "lr_decay_step": 10}, "has no option lr_decay_step.*Did you mean 'lr_decay_steps'"),
        ({"lr_schedule": "cosine_decay"}, "needs lr_decay_steps"),
        ({"lr_warmup_steps": 10}, "no lr_schedule is named"),
        ({"lr_schedule": "warmup_cosine_decay", "lr_warmup_steps": 10, "lr_decay_steps": 5}, "must exceed lr_warmup_steps=10"),
        ({"lr_schedule": "cosine_decay", "lr_decay_steps": 2.5}, "lr_decay_steps must be an integer"),
        ({"lr_schedule": "cosine_decay", "lr_decay_steps": 10, "lr_alpha": 2.0}, r"lr_alpha=2.0 is outside the allowed range \[0, 1\]"),
        ({"lr_schedule": "exponential_decay", "lr_transition_steps": 0, "lr_decay_rate": 0.5}, "lr_transition_steps must be at least 1"),
        ({"lr_schedule": "exponential_decay", "lr_transition_steps": 5, "lr_decay_rate": 0.5, "lr_staircase": 1},
         "lr_staircase=1 must be true or false"),
    ],
)
def test_bad_schedules_in_a_spec_are_refused_with_the_field(train, match):
    with pytest.raises((ValueError, TypeError), match=f"spec \\[train\\]: .*{match}"):
        _spec(**train).validate(check_train=neurodyn.train.check_train_section)


def test_optax_objects_are_checked():
    with pytest.raises(TypeError, match="For an optax alias, call it"):
        TrainConfig(optimizer=optax.adam)
    with pytest.raises(ValueError, match="lr_schedule cannot be combined with an optax.GradientTransformation"):
        TrainConfig(optimizer=optax.adam(1e-3), lr_schedule="constant")
    with pytest.raises(ValueError, match="optimizer_options cannot be combined"):
        TrainConfig(optimizer=optax.adam(1e-3), optimizer_options={"b1": 0.5})
    with pytest.raises(ValueError, match="learning_rate is already a schedule"):
        TrainConfig(learning_rate=optax.constant_schedule(1e-3), lr_schedule="constant")
    with pytest.raises(TypeError, match=r"learning_rate\(0\) failed"):
        TrainConfig(learning_rate=lambda count: count["x"])
    with pytest.raises(ValueError, match="gives -1.0 at step 0"):
        TrainConfig(learning_rate=lambda count: -1.0)
    assert TrainConfig(optimizer=optax.adam(1e-3)).numeric() == {}
    assert TrainConfig(optimizer=optax.adam(1e-3), grad_clip=1.0).numeric() == {"grad_clip": 1.0}


def test_unknown_optimizer_names_say_how_to_bring_one():
    for name in ("adabelif", "optax:adabelief"):
        with pytest.raises(ValueError, match=r"TrainConfig\(optimizer=<an optax.GradientTransformation>\)") as err:
            OPTIMIZERS.get(name)
        assert "import path" not in str(err.value)
