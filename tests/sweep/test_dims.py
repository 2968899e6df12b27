"""The store's dims come from the models' jaxtyping annotations."""

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float

from neurodyn.spec import MODELS, TASKS
from neurodyn.sweep._datasets import annotated_dims, param_dims, param_fields

TASK = TASKS.build("flipflop", {"n_bits": 2, "n_time": 5})


def _dims(name, **params):
    model = MODELS.build(name, {"hidden_size": 4, **params}, input_size=TASK.input_size,
                         output_size=TASK.output_size, key=jr.key(0))
    return {k: param_dims(model, k, v.shape) for k, v in param_fields(model).items() if v.ndim}


def test_gated_networks_name_their_stacked_gates():
    for name in ("gru", "lstm"):
        dims = _dims(name)
        assert dims["W_rec"] == ("gates_hidden", "hidden_in")
        assert dims["W_in"] == ("gates_hidden", "input")
        assert dims["b"] == ("gates_hidden",)
        assert dims["W_out"] == ("output", "hidden")


def test_the_dims_of_earlier_stores_are_kept():
    assert _dims("ctrnn") == {
        "W_rec": ("hidden", "hidden_in"), "W_in": ("hidden", "input"), "b": ("hidden",),
        "W_out": ("output", "hidden"), "b_out": ("output",), "tau": ("hidden",), "h0": ("state",),
    }
    assert _dims("low_rank", rank=2) == {
        "m": ("hidden", "rank"), "n": ("hidden", "rank"), "W_in": ("hidden", "input"),
        "W_out": ("output", "hidden"), "tau": ("hidden",),
    }


class _Odd(eqx.Module):
    hidden_size: int = eqx.field(static=True)
    input_size: int = eqx.field(static=True)
    output_size: int = eqx.field(static=True)
    W: Float[Array, "hidden input"]
    V: Float[Array, "*batch hidden"]
    U: jnp.ndarray
    G: Float[Array, "gate hidden"]
    F: Float[Array, " gate"]


def test_shapes_that_do_not_fit_their_names_get_generic_dims():
    odd = _Odd(3, 2, 1, jnp.zeros((3, 5)), jnp.zeros((2, 3)), jnp.zeros((3,)), jnp.zeros((4, 3)), jnp.zeros((6,)))
    assert annotated_dims(_Odd) == {"W": ("hidden", "input"), "G": ("gate", "hidden"), "F": ("gate",)}
    assert param_dims(odd, "W", (3, 5)) == ("W_0", "W_1")  # input is 2, not 5
    assert param_dims(odd, "V", (2, 3)) == ("V_0", "V_1")  # *batch: no plain names
    assert param_dims(odd, "U", (3,)) == ("U_0",)  # not annotated
    assert param_dims(odd, "G", (4, 3)) == ("gate", "hidden")  # gate sized by its first field
    assert param_dims(odd, "F", (6,)) == ("F_0",)  # the same name at another size


def test_a_gru_sweep_stores_named_gates_and_rebuilds_its_models(tmp_path):
    import numpy as np

    import neurodyn
    from neurodyn import store

    spec = {
        "task": {"name": "flipflop", "n_bits": 2, "n_time": 5},
        "model": {"name": "gru", "hidden_size": 4},
        "train": {"n_steps": 2, "eval_every": 2, "batch_size": 2, "eval_batch_size": 2},
        "sweep": {"seeds": 2, "trajectories": 2},
    }
    out = tmp_path / "gru.zarr"
    neurodyn.run_sweep(spec, out, progress=False)
    ds = store.read_group(out, "g0").load()
    assert ds["final_W_rec"].dims == ("member", "gates_hidden", "hidden_in")
    assert ds.sizes["gates_hidden"] == 12 and ds.sizes["hidden_in"] == 4
    model = neurodyn.open_sweep(out).model(1)
    np.testing.assert_array_equal(np.asarray(model.W_rec), ds["final_W_rec"].values[1])
    np.testing.assert_array_equal(np.asarray(model.b), ds["final_b"].values[1])


def test_a_store_written_with_generic_gate_dims_resumes_under_its_own_names(tmp_path, monkeypatch):
    """Stores written before the gates had names (`W_rec_0`, `W_rec_1`) keep those dims
    when a region of theirs is trained again, and the values are a fresh run's."""
    import numpy as np

    import neurodyn
    from neurodyn import store
    from neurodyn.sweep import _datasets

    spec = {
        "task": {"name": "flipflop", "n_bits": 2, "n_time": 5},
        "model": {"name": "gru", "hidden_size": 4},
        "train": {"n_steps": 2, "eval_every": 2, "batch_size": 2, "eval_batch_size": 2},
        "sweep": {"seeds": 2, "members_per_chunk": 1},
    }
    named = _datasets._annotated_dims_of

    def generic(model):
        return {k: v for k, v in named(model).items() if k not in ("W_in", "W_rec", "b")}

    old, fresh = tmp_path / "old.zarr", tmp_path / "fresh.zarr"
    monkeypatch.setattr(_datasets, "_annotated_dims_of", generic)
    neurodyn.run_sweep(spec, old, progress=False)
    before = store.read_group(old, "g0").load()
    assert before["final_W_rec"].dims == ("member", "W_rec_0", "W_rec_1")
    monkeypatch.setattr(_datasets, "_annotated_dims_of", named)

    region = store.region_name(slice(1, 2))
    store.undo_done(old, "g0", region)
    store.remove_checkpoint(old, "g0", region)
    neurodyn.run_sweep(spec, old, resume=True, progress=False)
    neurodyn.run_sweep(spec, fresh, progress=False)
    after = store.read_group(old, "g0").load()
    want = store.read_group(fresh, "g0").load()
    for name in ("final_W_rec", "final_W_in", "final_b", "init_W_rec"):
        assert after[name].dims == before[name].dims
        np.testing.assert_array_equal(after[name].values, want[name].values)
    np.testing.assert_array_equal(after["final_W_rec"].values[0], before["final_W_rec"].values[0])
    model = neurodyn.open_sweep(old).model(1)
    np.testing.assert_array_equal(np.asarray(model.W_rec), want["final_W_rec"].values[1])
