"""Member layouts: vmap, map and devices all train each member exactly as it trains alone."""

import json
import subprocess
import sys
import textwrap

import equinox as eqx
import jax
import jax.random as jr
import numpy as np
import pytest

from neurodyn import models, tasks
from neurodyn.train import TrainConfig, run_chunk, run_chunk_vmapped, use_cpu_cores
from neurodyn.train._group import group_trainer, init_group, unstack
from neurodyn.train._members import devices_for, resolve_layout


@pytest.fixture(scope="module")
def group():
    task = tasks.FlipFlop(n_bits=2, n_time=12, p=0.1)
    nets = [models.CTRNN(2, 8, 2, dt=0.2, key=jr.key(i)) for i in range(3)]
    configs = [TrainConfig(batch_size=4, n_steps=6, eval_every=3, eval_batch_size=4, learning_rate=lr) for lr in (1e-3, 1e-2, 3e-2)]
    trainer = group_trainer(configs, nets)
    states = init_group(trainer, nets, [task] * 3, configs, [jr.key(10 + i) for i in range(3)])
    return trainer, states


@pytest.mark.parametrize("layout", ["vmap", "map"])
def test_each_layout_trains_every_member_as_it_trains_alone(group, layout):
    trainer, states = group
    got, logs = run_chunk_vmapped(trainer, states, layout=layout)
    for i, alone in enumerate(unstack(states, 3)):
        want, want_logs = run_chunk(trainer, alone)
        np.testing.assert_allclose(got.model.W_rec[i], want.model.W_rec, rtol=2e-5, atol=1e-6)
        np.testing.assert_allclose(logs.loss[i], want_logs.loss, rtol=2e-5, atol=1e-7)
        assert int(got.step[i]) == int(want.step) == 3


@pytest.mark.parametrize("layout", ["vmap", "map"])
def test_a_one_member_group_runs_the_one_member_program(group, layout):
    trainer, states = group
    one = jax.tree_util.tree_map(lambda x: x[:1] if eqx.is_array(x) else x, states)
    got, logs = run_chunk_vmapped(trainer, one, layout=layout)
    want, want_logs = run_chunk(trainer, unstack(states, 3)[0])
    # the same program as training alone: equal bit for bit, with the member axis kept
    assert got.model.W_rec.shape == (1, 8, 8)
    np.testing.assert_array_equal(got.model.W_rec[0], want.model.W_rec)
    np.testing.assert_array_equal(logs.loss[0], want_logs.loss)
    text = run_chunk_vmapped.lower(trainer, one, layout=layout).as_text()
    assert text.count("stablehlo.while") == run_chunk.lower(trainer, unstack(states, 3)[0]).as_text().count("stablehlo.while")


def test_fewer_members_than_devices_use_as_many_devices_as_members():
    devices = ["d0", "d1", "d2", "d3"]
    assert devices_for(1, devices) == ["d0"]
    assert devices_for(3, devices) == ["d0", "d1", "d2"]
    assert devices_for(4, devices) == devices and devices_for(9, devices) == devices
    assert devices_for(0, devices) == ["d0"]


def test_auto_layout_is_map_on_cpu_and_vmap_elsewhere():
    assert resolve_layout("auto") == ("map" if jax.default_backend() == "cpu" else "vmap")
    assert resolve_layout("vmap") == "vmap" and resolve_layout("map") == "map"
    with pytest.raises(ValueError, match="member layout 'scan' is not one of"):
        resolve_layout("scan")


@pytest.mark.parametrize("bad", [0, -2, 1.5, True])
def test_use_cpu_cores_refuses_a_bad_count(bad):
    with pytest.raises(ValueError, match="n must be a positive integer"):
        use_cpu_cores(bad)


TWO_CORES = textwrap.dedent(
    """
    import json, sys, os
    os.environ.pop("XLA_FLAGS", None)
    import neurodyn
    n = neurodyn.use_cpu_cores(2)
    import jax, jax.random as jr, numpy as np
    from neurodyn import models, tasks
    from neurodyn.train import TrainConfig
    from neurodyn.train._group import fit_group
    task = tasks.FlipFlop(n_bits=2, n_time=12, p=0.1)
    nets = [models.CTRNN(2, 8, 2, dt=0.2, key=jr.key(i)) for i in range(3)]
    config = TrainConfig(batch_size=4, n_steps=6, eval_every=3, eval_batch_size=4, learning_rate=1e-2)
    keys = [jr.key(10 + i) for i in range(3)]
    two, h2 = fit_group(nets, task, config, keys=keys)
    one, h1 = fit_group(nets, task, config, keys=keys, devices=jax.devices()[:1], layout="vmap")
    err = None
    try:
        neurodyn.use_cpu_cores(3)
    except RuntimeError as e:
        err = str(e)
    print("RESULT", json.dumps({
        "n": n, "devices": len(jax.devices()), "histories": len(h2),
        "diff": max(float(np.max(np.abs(a.W_rec - b.W_rec))) for a, b in zip(two, one)),
        "loss_diff": max(float(np.max(np.abs(a.loss - b.loss))) for a, b in zip(h2, h1)),
        "steps": [h.steps for h in h2], "error": err,
    }))
    """
)


def test_fit_group_over_two_cpu_devices_matches_one_device():
    proc = subprocess.run([sys.executable, "-c", TWO_CORES], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [l for l in proc.stdout.splitlines() if l.startswith("RESULT")][0]
    r = json.loads(line.split(" ", 1)[1])
    assert r["n"] == 2 and r["devices"] == 2
    assert r["histories"] == 3 and r["steps"] == [6, 6, 6]  # the padding member is dropped
    assert r["diff"] < 1e-5 and r["loss_diff"] < 1e-5
    assert "already started with 2 CPU device(s)" in r["error"]


def test_layouts_keep_static_fields(group):
    trainer, states = group
    got, _ = run_chunk_vmapped(trainer, states, layout="map")
    assert eqx.tree_equal(eqx.filter(got, eqx.is_array, inverse=True), eqx.filter(states, eqx.is_array, inverse=True))
    assert type(got.model) is models.CTRNN and got.model.hidden_size == 8


def test_run_chunk_refuses_an_unknown_layout(group):
    trainer, states = group
    with pytest.raises(ValueError, match="member layout 'scan' is not one of"):
        run_chunk_vmapped(trainer, states, layout="scan")
