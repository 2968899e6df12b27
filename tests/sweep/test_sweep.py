import json
import os
import re
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr
from sweep_helpers import xla_flags

import neurodyn
from neurodyn import store
from neurodyn.sweep import plan_sweep
from neurodyn.sweep._plan import build_member
from neurodyn.train import TRACE_COUNTS
from neurodyn.train._group import fit_group

ONE_GROUP = {
    "task": {"name": "flipflop", "n_bits": 2, "n_time": 10, "p": [0.05, 0.2]},
    "model": {"name": "ctrnn", "hidden_size": 6, "dt": 0.2, "gain": [0.8, 1.2], "noise_std": [0.0, 0.05], "tau": [1.0, 2.0]},
    "train": {"learning_rate": [1e-3, 1e-2], "n_steps": 8, "eval_every": 4, "batch_size": 4, "eval_batch_size": 4, "l2": [0.0, 1e-3]},
    "sweep": {"seeds": 1, "trajectories": 3},
}


def test_numbers_vary_without_recompiling(tmp_path):
    plan = plan_sweep(neurodyn.SweepSpec.from_dict(ONE_GROUP))
    assert len(plan.groups) == 1 and len(plan.members) == 64
    before = TRACE_COUNTS["vmapped"]
    neurodyn.run_sweep(ONE_GROUP, tmp_path / "a.zarr", progress=False)
    # one region of 64 members, two compiled calls: traced exactly once
    assert TRACE_COUNTS["vmapped"] == before + 1


@pytest.fixture(scope="module")
def small_store(tmp_path_factory):
    spec = {
        "task": {"name": "flipflop", "n_bits": 2, "n_time": 10, "p": 0.1},
        "model": {"name": "ctrnn", "hidden_size": 6, "dt": 0.2},
        "train": {"learning_rate": [3e-3, 1e-2], "n_steps": 8, "eval_every": 4, "batch_size": 4, "eval_batch_size": 4},
        "sweep": {"seeds": 2, "trajectories": 3},
    }
    out = tmp_path_factory.mktemp("s") / "s.zarr"
    neurodyn.run_sweep(spec, out, progress=False)
    return spec, out


def test_store_holds_what_training_in_memory_gives(small_store):
    spec, out = small_store
    plan = plan_sweep(neurodyn.SweepSpec.from_dict(spec))
    built = [build_member(m) for m in plan.members]
    models, hists = fit_group([b.model for b in built], [b.task for b in built], [b.config for b in built], keys=[b.train_key for b in built])
    ds = store.read_group(out, "g0").load()
    for i, (m, h) in enumerate(zip(models, hists)):
        np.testing.assert_array_equal(ds["final_W_rec"].values[i], np.asarray(m.W_rec))
        np.testing.assert_array_equal(ds["init_W_rec"].values[i], np.asarray(built[i].model.W_rec))
        np.testing.assert_array_equal(ds["loss"].values[i], h.loss)
        np.testing.assert_array_equal(ds["eval_loss"].values[i], h.eval_loss)
    assert ds["final_W_rec"].dims == ("member", "hidden", "hidden_in")
    assert ds["states"].dims == ("member", "trial", "time", "state")
    assert ds["inputs"].dims == ("trial", "time", "input")  # shared: task parameters are equal


def test_group_round_trips_through_zarr(small_store, tmp_path):
    _, out = small_store
    ds = store.read_group(out, "g0").load()
    ds.to_zarr(tmp_path / "copy.zarr", mode="w", consolidated=False)
    xr.testing.assert_identical(xr.open_zarr(tmp_path / "copy.zarr", consolidated=False).load(), ds)


def test_rebuilt_model_reproduces_stored_outputs(small_store):
    _, out = small_store
    s = neurodyn.open_sweep(out)
    ds = s.group("g0").load()
    for member in (0, 3):
        model = s.model(member)
        outputs = jax.vmap(lambda x: model(x).output)(jnp.asarray(ds["inputs"].values))
        pos = int(np.nonzero(ds["member"].values == member)[0][0])
        np.testing.assert_array_equal(np.asarray(outputs), ds["outputs"].values[pos])


def test_selection_by_hyperparameter_values(small_store):
    _, out = small_store
    s = neurodyn.open_sweep(out)
    assert s.select(learning_rate=1e-2, seed=1).tolist() == [3]
    traj = s.trajectories(learning_rate=3e-3)
    assert traj["member"].values.tolist() == [0, 1]
    assert traj["learning_rate"].values.tolist() == [3e-3, 3e-3]
    with pytest.raises(KeyError, match="Did you mean 'learning_rate'"):
        s.select(learning_rat=1e-2)
    trials, traj = s.simulate(2, n_trials=2)
    assert traj.output.shape == (2, 10, 2)


@pytest.mark.slow  # tests/train/test_fit.py checks the same isolation in fit_group
def test_divergent_member_does_not_disturb_the_others(tmp_path):
    base = {
        "task": {"name": "flipflop", "n_bits": 2, "n_time": 10},
        "model": {"name": "ctrnn", "hidden_size": 6, "dt": 0.2},
        "train": {"optimizer": "sgd", "n_steps": 12, "eval_every": 4, "batch_size": 4, "eval_batch_size": 4},
        "sweep": {"seeds": [0], "trajectories": 2},
    }
    sane = json.loads(json.dumps(base))
    sane["train"]["learning_rate"] = [1e-2]
    wild = json.loads(json.dumps(base))
    wild["train"]["learning_rate"] = [1e-2, 1e30]
    neurodyn.run_sweep(sane, tmp_path / "sane.zarr", progress=False)
    neurodyn.run_sweep(wild, tmp_path / "wild.zarr", progress=False)
    a = store.read_group(tmp_path / "sane.zarr", "g0").load()
    b = store.read_group(tmp_path / "wild.zarr", "g0").load()
    members = store.read_members(tmp_path / "wild.zarr")
    assert members["status"].values.tolist() == ["ok", "diverged"]
    np.testing.assert_allclose(b["final_W_rec"].values[0], a["final_W_rec"].values[0], rtol=1e-5, atol=1e-6)
    assert np.all(np.isfinite(b["final_W_rec"].values[1]))


def test_dry_run_trains_and_writes_nothing(tmp_path, capsys):
    from rich.console import Console

    out = tmp_path / "dry.zarr"
    console = Console(width=200, record=True)
    neurodyn.run_sweep(ONE_GROUP, out, dry_run=True, console=console)
    text = console.export_text()
    assert "64 members" in text and "1 group(s)" in text and "memory" in text
    assert not out.exists()


SHARDED = textwrap.dedent(
    """
    import json, sys
    import jax, numpy as np
    import neurodyn
    from neurodyn import store
    from neurodyn.sweep._plan import build_member
    from neurodyn.train._group import group_trainer, init_group
    from neurodyn.train import member_mesh, run_chunk_vmapped
    from neurodyn.train._members import shard_members

    spec = json.loads(sys.argv[1])
    assert len(jax.devices()) == 4, jax.devices()
    plan = neurodyn.sweep.plan_sweep(neurodyn.SweepSpec.from_dict(spec))
    built = [build_member(m) for m in plan.members]
    built = built + built[-2:]  # 6 members padded to 8, as the sweep pads them
    trainer = group_trainer([b.config for b in built], [b.model for b in built])
    states = init_group(trainer, [b.model for b in built], [b.task for b in built], [b.config for b in built], [b.train_key for b in built])
    mesh = member_mesh(jax.devices())
    states, _ = run_chunk_vmapped(trainer, shard_members(states, mesh), mesh=mesh)
    w = states.model.W_rec
    shards = {s.device for s in w.addressable_shards}
    print("DEVICES", len(w.sharding.device_set), len(shards), w.addressable_shards[0].data.shape[0])
    neurodyn.run_sweep(spec, sys.argv[2], devices=4, progress=False)
    neurodyn.run_sweep(spec, sys.argv[3], devices=1, progress=False)
    """
)


@pytest.mark.slow  # long; the fast suite trains over two devices (tests/train/test_members.py)
def test_sharded_over_four_devices_equals_unsharded(tmp_path):
    spec = {
        "task": {"name": "flipflop", "n_bits": 2, "n_time": 10},
        "model": {"name": "ctrnn", "hidden_size": 6, "dt": 0.2},
        "train": {"learning_rate": [1e-3, 3e-3, 1e-2], "n_steps": 8, "eval_every": 4, "batch_size": 4, "eval_batch_size": 4},
        "sweep": {"seeds": 2, "trajectories": 2},
    }
    hlo = tmp_path / "hlo"
    flags = xla_flags("--xla_force_host_platform_device_count=4", f"--xla_dump_to={hlo}", "--xla_dump_hlo_as_text")
    env = dict(os.environ, XLA_FLAGS=flags)
    result = subprocess.run(
        [sys.executable, "-c", SHARDED, json.dumps(spec), str(tmp_path / "s4.zarr"), str(tmp_path / "s1.zarr")],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    line = [l for l in result.stdout.splitlines() if l.startswith("DEVICES")][0]
    # 6 members padded to 8 over 4 devices: 2 members per device
    assert line.split()[1:] == ["4", "4", "2"]
    a = store.read_group(tmp_path / "s4.zarr", "g0").load()
    b = store.read_group(tmp_path / "s1.zarr", "g0").load()
    for name in ("final_W_rec", "loss", "outputs"):
        np.testing.assert_allclose(a[name].values, b[name].values, rtol=1e-5, atol=1e-6)
    # members are independent: no compiled program of the sweep waits on another device
    compiled = sorted(hlo.glob("*after_optimizations.txt"))
    assert len(compiled) > 20, len(compiled)
    collective = re.compile(r"\b(all-reduce|all-gather|all-to-all|collective-permute|reduce-scatter)(-start)?\(")
    with_collectives = [p.name for p in compiled if collective.search(p.read_text())]
    assert with_collectives == [], with_collectives


def test_parameter_snapshots_every_k_steps(tmp_path):
    spec = json.loads(json.dumps(ONE_GROUP))
    spec["task"]["p"] = 0.1
    spec["model"] = {"name": "ctrnn", "hidden_size": 6, "dt": 0.2}
    spec["train"] = {"learning_rate": 1e-2, "n_steps": 16, "eval_every": 4, "batch_size": 4, "eval_batch_size": 4}
    spec["sweep"] = {"seeds": 2, "trajectories": 2, "snapshot_every": 8}
    neurodyn.run_sweep(spec, tmp_path / "snap.zarr", progress=False)
    ds = store.read_group(tmp_path / "snap.zarr", "g0").load()
    assert ds["snapshot_step"].values.tolist() == [8, 16]
    assert ds["snapshot_W_rec"].dims == ("member", "snapshot", "hidden", "hidden_in")
    np.testing.assert_array_equal(ds["snapshot_W_rec"].values[:, -1], ds["final_W_rec"].values)
    assert not np.allclose(ds["snapshot_W_rec"].values[:, 0], ds["final_W_rec"].values)
    spec["sweep"]["snapshot_every"] = 6
    with pytest.raises(ValueError, match="snapshot_every=6 must be a positive multiple"):
        neurodyn.run_sweep(spec, tmp_path / "bad.zarr", progress=False)


@pytest.mark.slow  # four compiled groups; the fast suite checks the refusal in fit_group below
def test_each_member_trains_its_own_step_budget_and_patience(tmp_path):
    """The step budget and the patience are read once per group, so members that differ
    in them are planned into separate groups: each trains exactly its own budget."""
    spec = {
        "task": {"name": "flipflop", "n_bits": 1, "n_time": 8, "p": 0.1},
        "model": {"name": "vanilla", "hidden_size": 4},
        "train": {"learning_rate": 1e-2, "n_steps": [8, 24], "eval_every": 4, "batch_size": 4,
                  "eval_batch_size": 4},
        "sweep": {"seeds": 1},
    }
    plan = plan_sweep(neurodyn.SweepSpec.from_dict(spec))
    assert len(plan.groups) == 2
    sweep = neurodyn.run_sweep(spec, tmp_path / "budget.zarr", progress=False)
    members = sweep.members
    assert dict(zip(members["n_steps"].values.tolist(), members["steps_trained"].values.tolist())) == {8: 8, 24: 24}
    # a threshold every member meets at once: each stops after its own patience
    spec["train"] = {**spec["train"], "n_steps": 40, "loss_threshold": 1e6, "patience": [1, 3]}
    assert len(plan_sweep(neurodyn.SweepSpec.from_dict(spec)).groups) == 2
    members = neurodyn.run_sweep(spec, tmp_path / "patience.zarr", progress=False).members
    assert dict(zip(members["patience"].values.tolist(), members["steps_trained"].values.tolist())) == {1: 4, 3: 12}


def test_fit_group_refuses_members_with_different_budgets():
    from neurodyn.models import VanillaRNN
    from neurodyn.tasks import FlipFlop

    task = FlipFlop(n_bits=1, n_time=8)
    models = [VanillaRNN(1, 4, 1, key=jax.random.key(i)) for i in range(2)]
    configs = [neurodyn.TrainConfig(n_steps=n, eval_every=4, batch_size=4) for n in (8, 24)]
    with pytest.raises(ValueError, match="step budget"):
        fit_group(models, task, configs, keys=list(jax.random.split(jax.random.key(0), 2)))


def test_members_with_different_budgets_or_patience_are_planned_apart():
    base = {
        "task": {"name": "flipflop", "n_bits": 1, "n_time": 8},
        "model": {"name": "vanilla", "hidden_size": 4},
        "train": {"n_steps": 8, "eval_every": 4, "batch_size": 4, "learning_rate": [1e-3, 1e-2]},
        "sweep": {"seeds": 1},
    }
    assert len(plan_sweep(neurodyn.SweepSpec.from_dict(base)).groups) == 1
    for key, values in (("n_steps", [8, 24]), ("patience", [1, 3])):
        spec = {**base, "train": {**base["train"], key: values, "loss_threshold": 1e-3}}
        plan = plan_sweep(neurodyn.SweepSpec.from_dict(spec))
        assert len(plan.groups) == 2, key
