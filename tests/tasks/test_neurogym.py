"""The NeuroGym bridge: banks equal to NeuroGym's own seeded trials, the env's decision rule,
vmapped sampling, held-out and OOD banks, the spec name, and three envs trained to criterion.

Everything but the first test needs the `neurogym` extra (`make test-neurogym` builds its venv).
"""

import importlib.util
import re
import subprocess
import sys

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from neurodyn.tasks import NeuroGymTask
from neurodyn.tasks._losses import masked_cross_entropy

try:
    import neurogym as ngym
except ImportError as err:  # the extra is missing, or torch (which neurogym imports) is
    ngym, _MISSING = None, f"neurogym is not importable ({err}); make test-neurogym installs the extra"
else:
    _MISSING = ""

# gymnasium asks each env it makes for render modes, which NeuroGym's do not declare
pytestmark = pytest.mark.filterwarnings("ignore:.*render_modes:UserWarning")
needs_neurogym = pytest.mark.skipif(ngym is None, reason=_MISSING or "neurogym is importable")
PDM, GONOGO, CDM = "PerceptualDecisionMaking-v0", "GoNogo-v0", "ContextDecisionMaking-v0"
_find = importlib.util.find_spec


def test_without_neurogym_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "neurogym", None)  # what an absent package looks like
    with pytest.raises(ImportError, match=r'pip install "neurodyn\[neurogym\]"'):
        NeuroGymTask(GONOGO)
    from neurodyn.spec import TASKS

    with pytest.raises(ImportError, match=r"neurodyn\[neurogym\]"):
        TASKS.get(f"neurogym:{GONOGO}")


def test_importing_the_tasks_does_not_import_neurogym():
    code = "import sys, neurodyn.tasks, neurodyn.spec; print('neurogym' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _env(env_id, seed, **kwargs):
    env = ngym.make(env_id, **kwargs).unwrapped
    env.seed(seed)
    return env


@needs_neurogym
def test_the_bank_is_neurogyms_own_trials_for_the_seed():
    task = NeuroGymTask(CDM, n_trials=12, seed=3, n_held_out=2)
    env = _env(CDM, 3)
    assert isinstance(env.rng, np.random.RandomState)  # NeuroGym's legacy generator
    for k in range(12):
        env.new_trial()
        n = len(env.ob)
        np.testing.assert_array_equal(task.bank.inputs[k, :n], env.ob)
        np.testing.assert_array_equal(task.bank.targets[k, :n], env.gt)
        decision = np.zeros(n)
        decision[env.start_ind["decision"] : env.end_ind["decision"]] = 1
        np.testing.assert_array_equal(task.bank.mask[k, :n], decision)
        assert not task.bank.inputs[k, n:].any() and not task.bank.mask[k, n:].any()


@needs_neurogym
def test_same_seed_same_banks_and_the_global_numpy_generator_untouched():
    before = np.random.get_state()[1].copy()
    a, b, c = (NeuroGymTask(CDM, n_trials=16, seed=s, n_held_out=8) for s in (7, 7, 8))
    np.testing.assert_array_equal(np.random.get_state()[1], before)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a.bank.inputs, c.bank.inputs)
    assert not np.array_equal(a.bank.inputs, a.held_out_bank.inputs[:16])
    # the padded length is the longest trial the timing allows, so every seed has it
    assert a.n_time == c.n_time == (300 + 750 + 3000 + 100) // 100


@needs_neurogym
def test_sampling_is_by_key_and_stacked_tasks_vmap_as_one_sweep():
    tasks = [NeuroGymTask(PDM, n_trials=32, seed=0, n_held_out=4, sigma=s) for s in (0.5, 2.0)]
    keys = jr.split(jr.key(0), 2)
    batch = eqx.filter_jit(lambda t, k: t.sample_batch(8, key=k))
    trials = [batch(t, k) for t, k in zip(tasks, keys)]
    t0 = tasks[0]
    assert trials[0].inputs.shape == (8, 22, 3) and trials[0].targets.shape == (8, 22, 3)
    np.testing.assert_array_equal(batch(t0, keys[0]).inputs, trials[0].inputs)
    assert not np.array_equal(batch(t0, keys[1]).inputs, trials[0].inputs)
    # each sampled trial is a row of the bank
    rows = np.asarray(t0.bank.inputs).reshape(32, -1)
    for x in np.asarray(trials[0].inputs).reshape(8, -1):
        assert np.any(np.all(rows == x, axis=1))
    stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *tasks)
    together = eqx.filter_jit(eqx.filter_vmap(lambda t, k: t.sample_batch(8, key=k)))(stacked, keys)
    for i, trial in enumerate(trials):
        for field in ("inputs", "targets", "mask"):
            np.testing.assert_array_equal(getattr(together, field)[i], getattr(trial, field))
    metric = eqx.filter_vmap(lambda t, tr: jax.vmap(t.metric)(tr.targets, tr))
    np.testing.assert_array_equal(metric(stacked, together), np.ones((2, 8)))


def _env_performance(env_id, seed, actions):
    """The env's own `performance` when it is stepped with `actions[k]` on trial k."""
    env = _env(env_id, seed)
    env.new_trial()
    found = []
    for trial_actions in actions:
        for a in trial_actions:
            *_, info = env.step(int(a))
            if info["new_trial"]:
                found.append(float(info["performance"]))
                break
    return np.array(found)


@needs_neurogym
@pytest.mark.parametrize("env_id", [PDM, CDM])
def test_the_metric_is_the_envs_own_performance(env_id):
    task = NeuroGymTask(env_id, n_trials=60, seed=5, n_held_out=2)
    rng = np.random.default_rng(0)
    # fixate mostly, so that some trials answer in the decision period and some never do
    actions = np.where(rng.random((60, task.n_time)) < 0.5, 0, rng.integers(1, task.n_actions, (60, task.n_time)))
    trials = jax.vmap(lambda i: jax.tree.map(lambda x: x[i], _as_trials(task)))(jnp.arange(60))
    outputs = 5.0 * jax.nn.one_hot(actions, task.n_actions)
    ours = np.asarray(jax.vmap(task.metric)(outputs, trials))
    theirs = _env_performance(env_id, 5, actions)
    assert 0.1 < theirs.mean() < 0.9  # both outcomes occur
    np.testing.assert_array_equal(ours, theirs)


def _as_trials(task):
    """Every trial of the bank, in order, as the `Trial`s that `sample` returns."""
    from neurodyn._types import Trial

    mask = jnp.broadcast_to(task.bank.mask[..., None], (*task.bank.mask.shape, task.n_actions))
    return Trial(task.bank.inputs, jax.nn.one_hot(task.bank.targets, task.n_actions), mask)


@needs_neurogym
def test_gonogo_withheld_nogo_counts_as_correct():
    task = NeuroGymTask(GONOGO, n_trials=32, seed=0, n_held_out=2)
    trials = _as_trials(task)
    fixate = jnp.zeros((32, task.n_time, 2)).at[..., 0].set(1.0)
    scores = np.asarray(jax.vmap(task.metric)(fixate, trials))
    nogo = np.asarray(task.bank.targets.max(axis=1) == 0)
    assert 0 < nogo.sum() < 32
    np.testing.assert_array_equal(scores, nogo.astype(float))


@needs_neurogym
def test_discrete_actions_cross_entropy_and_box_actions_mse():
    task = NeuroGymTask(GONOGO, n_trials=16, seed=0, n_held_out=2)
    trials = task.sample_batch(4, key=jr.key(1))
    assert (task.loss, task.metric_name, task.higher_is_better) == ("cross_entropy", "performance", True)
    np.testing.assert_array_equal(trials.targets.sum(-1), np.ones((4, 15)))
    logits = jr.normal(jr.key(2), trials.targets.shape)
    np.testing.assert_allclose(
        task.batch_loss(logits, trials), masked_cross_entropy(logits, trials.targets, trials.mask, n_classes=2)
    )
    reach = NeuroGymTask("ReachingDelayResponse-v0", n_trials=16, seed=0, n_held_out=2)
    trials = reach.sample_batch(4, key=jr.key(1))
    assert (reach.loss, reach.metric_name, reach.higher_is_better) == ("mse", "mse", False)
    assert reach.output_size == 2 and trials.targets.dtype == jnp.float32
    shifted = trials.targets + 0.5
    np.testing.assert_allclose(reach.batch_loss(shifted, trials), 0.25, rtol=1e-6)
    np.testing.assert_allclose(jax.vmap(reach.metric)(shifted, trials), 0.25, rtol=1e-6)


@needs_neurogym
def test_loss_periods_choose_the_mask():
    env = _env(GONOGO, 0)
    env.new_trial()
    every = NeuroGymTask(GONOGO, n_trials=4, seed=0, n_held_out=2, loss_periods="all")
    np.testing.assert_array_equal(every.bank.mask[0], np.ones(len(env.ob)))
    two = NeuroGymTask(GONOGO, n_trials=4, seed=0, n_held_out=2, loss_periods=["stimulus", "decision"])
    np.testing.assert_array_equal(two.bank.mask[0], [1] * 5 + [0] * 5 + [1] * 5)


@needs_neurogym
def test_held_out_and_out_of_distribution_banks():
    task = NeuroGymTask(PDM, n_trials=16, seed=0, n_held_out=8)
    held = task.held_out()
    assert jax.tree.structure(held) == jax.tree.structure(task)
    assert held.n_trials == 8 and held.n_time == task.n_time
    ood = task.ood()
    assert task.ood_period == "stimulus"  # its delay lasts 0 ms
    assert ood.n_time == (100 + 2 * 2000 + 0 + 100) // 100 and ood.input_size == task.input_size
    with pytest.raises(ValueError, match=r"already the out-of-distribution variant \(stimulus x 2\)"):
        ood.ood()
    cdm = NeuroGymTask(CDM, n_trials=16, seed=0, n_held_out=8)
    assert cdm.ood_period == "delay" and cdm.ood().n_time == (300 + 750 + 6000 + 100) // 100
    reach = NeuroGymTask("Reaching1D-v0", n_trials=4, seed=0, n_held_out=2, loss_periods="reach")
    with pytest.raises(ValueError, match=r"no out-of-distribution variant, since its env has no delay or stimulus"):
        reach.ood()
    longer = NeuroGymTask(GONOGO, n_trials=4, seed=0, n_held_out=2, ood_period="decision", ood_factor=3.0)
    assert longer.ood().n_time == 15 + 2 * 5


@needs_neurogym
def test_the_spec_name_builds_the_same_task():
    from neurodyn.spec import TASKS, SweepSpec

    built = TASKS.build(f"neurogym:{GONOGO}", {"n_trials": 8, "seed": 2, "n_held_out": 2, "dt": 50})
    direct = NeuroGymTask(GONOGO, n_trials=8, seed=2, n_held_out=2, dt=50)
    for x, y in zip(jax.tree.leaves(built), jax.tree.leaves(direct)):
        np.testing.assert_array_equal(x, y)
    spec = SweepSpec(
        task={"name": f"neurogym:{PDM}", "n_trials": 8, "sigma": [0.5, 1.0]},
        model={"name": "gru", "hidden_size": 8},
        train={"n_steps": 10, "eval_every": 10},
    )
    members = spec.validate()
    assert [m.task["sigma"] for m in members] == [0.5, 1.0]
    with pytest.raises(ValueError, match=r"unknown NeuroGym environment 'GoNog-v0'. Did you mean 'GoNogo-v0'\?"):
        TASKS.get("neurogym:GoNog-v0")
    with pytest.raises(ValueError, match=r"task neurogym:GoNogo-v0: unknown parameter 'sigma'"):
        TASKS.validate(f"neurogym:{GONOGO}", {"sigma": 1.0})


ERRORS = [
    (dict(n_trials=0), ValueError, r"NeuroGymTask: n_trials must be an integer >= 1, got 0"),
    (dict(seed=-1), ValueError, r"NeuroGymTask: seed must be an integer >= 0, got -1"),
    (dict(seed=2**32), ValueError, r"seed=4294967296 must be below 2\*\*32"),
    (dict(n_time=10), ValueError, r"n_time=10 is shorter than the longest trial drawn \(15 steps"),
    (dict(loss_periods="decison"), ValueError,
     r"has no period 'decison' for loss_periods; its periods are \['fixation', 'stimulus', 'delay', 'decision'\]. "
     r"Did you mean 'decision'\?"),
    (dict(loss_periods=[1]), TypeError, r"loss_periods must be 'all', a period name or a list"),
    (dict(ood_period="fixatio"), ValueError, r"ood_period='fixatio' is not a stretchable timing period of GoNogo"),
    (dict(ood_factor=0.0), ValueError, r"ood_factor=0.0 is outside the allowed range \(0, inf\)"),
]


@needs_neurogym
@pytest.mark.parametrize("kwargs, error, message", ERRORS)
def test_constructor_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        NeuroGymTask(GONOGO, **{"n_trials": 4, "n_held_out": 2, **kwargs})


@needs_neurogym
def test_an_env_without_a_decision_period_asks_for_loss_periods():
    with pytest.raises(ValueError, match=r"no period 'decision' for loss_periods; its periods are \['fixation', 'reach'\].*Pass loss_periods="):
        NeuroGymTask("Reaching1D-v0", n_trials=4, n_held_out=2)


# The env's own criterion: its performance on held-out trials, against a level each env allows.
# PDM: a fifth of its trials have coherence 0 (chance), so an ideal observer scores about 0.9.
# CDM: the weakest coherence (5 %) caps an ideal observer near 0.94.
CRITERIA = {
    PDM: dict(level=0.80, hidden_size=32, n_steps=400),
    GONOGO: dict(level=0.99, hidden_size=16, n_steps=200),
    CDM: dict(level=0.80, hidden_size=32, n_steps=600),
}


@needs_neurogym
@pytest.mark.slow
@pytest.mark.parametrize("env_id", sorted(CRITERIA))
def test_trains_to_the_envs_criterion(env_id):
    import neurodyn
    from neurodyn.models import GRU

    settings = CRITERIA[env_id]
    task = NeuroGymTask(env_id, n_trials=1024, seed=0, n_held_out=256)
    mkey, fkey = jr.split(jr.key(0))
    model = GRU(task.input_size, settings["hidden_size"], task.output_size, key=mkey)
    config = neurodyn.TrainConfig(
        learning_rate=1e-2, batch_size=32, n_steps=settings["n_steps"], eval_every=settings["n_steps"],
        eval_batch_size=64, grad_clip=1.0,
    )
    model, history = neurodyn.fit(model, task, config, key=fkey)
    held = task.held_out()
    trials = held.sample_batch(256, key=jr.key(1))
    outputs = jax.vmap(lambda u: model(u).output)(trials.inputs)
    performance = float(jnp.mean(jax.vmap(held.metric)(outputs, trials)))
    assert performance >= settings["level"], (env_id, performance)


@needs_neurogym
@pytest.mark.slow
def test_a_sweep_over_an_env_parameter_is_one_group_and_its_store_rebuilds_the_task(tmp_path):
    from neurodyn.spec import SweepSpec
    from neurodyn.store import open_sweep
    from neurodyn.sweep import plan_sweep, run_sweep

    spec = {
        "task": {"name": f"neurogym:{PDM}", "n_trials": 64, "n_held_out": 8, "sigma": [0.5, 1.0]},
        "model": {"name": "gru", "hidden_size": 8},
        "train": {"n_steps": 20, "eval_every": 20, "batch_size": 16, "eval_batch_size": 16},
    }
    assert [len(g.members) for g in plan_sweep(SweepSpec.from_dict(spec)).groups] == [2]
    run_sweep(spec, tmp_path / "run.zarr", progress=False)
    store = open_sweep(tmp_path / "run.zarr")
    assert list(store.members["status"].values) == ["ok", "ok"]
    rebuilt = store.task(1)
    direct = NeuroGymTask(PDM, n_trials=64, n_held_out=8, sigma=1.0)
    for x, y in zip(jax.tree.leaves(rebuilt), jax.tree.leaves(direct)):
        np.testing.assert_array_equal(x, y)


def docs_example() -> str:
    """The executed block of docs/studies/neurogym.md (the one the site build runs)."""
    import pathlib

    page = (pathlib.Path(__file__).resolve().parents[2] / "docs" / "studies" / "neurogym.md").read_text()
    blocks = re.findall(r'^```python exec="on"[^\n]*\n(.*?)^```$', page, flags=re.M | re.S)
    assert len(blocks) == 1, f"docs/studies/neurogym.md has {len(blocks)} executed blocks, expected 1"
    return blocks[0]


@pytest.mark.slow
@needs_neurogym
def test_the_docs_example_runs_and_reaches_the_envs_criterion(capsys):
    # The site is built in the main venv, where neurogym is absent and the page shows the
    # missing-extra note; here the same block takes its other branch, so a stale example fails.
    exec(compile(docs_example(), "docs/studies/neurogym.md", "exec"), {})
    printed = capsys.readouterr().out
    held_out = float(re.search(r"^held-out: ([0-9.]+)$", printed, flags=re.M).group(1))
    assert held_out >= 0.8, printed  # PerceptualDecisionMaking's criterion
    assert "neurogym is not installed" not in printed


def test_the_docs_example_without_neurogym_shows_the_extras_error(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "neurogym", None)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "neurogym" else _find(name, *a))
    exec(compile(docs_example(), "docs/studies/neurogym.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "neurogym is not installed where this page was built" in printed
    assert 'ImportError: NeuroGymTask needs the optional dependency neurogym' in printed, printed
    assert 'Install the extra: pip install "neurodyn[neurogym]"' in printed, printed
