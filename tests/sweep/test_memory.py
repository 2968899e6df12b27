"""The memory a region needs is estimated before planning work starts, and a sweep that
would not fit is refused unless forced."""

import equinox as eqx
import jax
import pytest
from rich.console import Console

import neurodyn
from neurodyn.sweep import _plan
from neurodyn.sweep._plan import build_model, build_task, estimate_bytes, plan_sweep, shapes_of
from neurodyn.sweep._run import as_spec

SPEC = {
    "task": {"name": "flipflop", "n_bits": 2, "n_time": 10, "p": 0.1},
    "model": {"name": "ctrnn", "hidden_size": 6},
    "train": {"n_steps": 8, "eval_every": 4, "batch_size": 4, "eval_batch_size": 4},
    "sweep": {"seeds": 2},
}


def test_the_estimate_counts_every_term_of_a_small_network():
    plan = plan_sweep(as_spec(SPEC))
    member = plan.members[0]
    model, task, config = shapes_of(member)
    concrete = build_model(member, build_task(member), key=jax.random.key(0))
    params = sum(x.size for x in jax.tree_util.tree_leaves(eqx.filter(concrete, eqx.is_inexact_array)))
    assert params > 6 * 6 + 6 * 2  # at least W_rec and W_in
    est = estimate_bytes(model, task, config, 2)
    assert est["params"] == params
    # float32 bytes: 5 copies of the parameters; activations 4 trials x 10 steps x
    # (3 x 6 states + 2 outputs); training and evaluation batches 10 x (2 + 2 x 2) x 8;
    # histories 2 x (8 steps + 2 epochs); 16 stored trajectories of 10 x (6 + 2)
    expected = 4 * (5 * params + 4 * 10 * 20 + 10 * 6 * 8 + 2 * 10 + 16 * 10 * 8)
    assert est["per_member"] == expected
    assert est["total"] == 2 * expected
    assert est["stored"] == 4 * (2 * params + 2 * 10 + 16 * 10 * 8)


def test_a_sweep_too_large_for_memory_is_refused_before_anything_is_written(tmp_path, monkeypatch):
    monkeypatch.setattr(_plan, "available_bytes", lambda devices=None: (1000, "test memory"))
    out = tmp_path / "run.zarr"
    with pytest.raises(ValueError, match=r"needs about .* more than the 0.000954 MiB of test memory.*members_per_chunk.*--force"):
        neurodyn.run_sweep(SPEC, out, progress=False)
    assert not out.exists()
    console = Console(record=True, width=300)
    neurodyn.run_sweep(SPEC, out, progress=False, dry_run=True, force=True, console=console)
    assert "warning:" in console.export_text() and not out.exists()
