import signal
import time
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from neurodyn.store import (
    load_checkpoint,
    read_checkpoint_meta,
    remove_checkpoint,
    save_checkpoint,
)

REGION = "members_000000-000004"


class TrainState(eqx.Module):
    params: dict
    opt_count: jax.Array
    key: jax.Array
    host_stats: np.ndarray
    epoch: int
    activation: Callable
    name: str = eqx.field(static=True)


def _state(seed: int) -> TrainState:
    k1, k2, k3 = jr.split(jr.key(seed), 3)
    return TrainState(
        params={
            "W_rec": jr.normal(k1, (4, 3, 3)),
            "tau": jnp.exp(jr.normal(k2, (4, 3))).astype(jnp.bfloat16),
            "done": jnp.array([True, False, True, False]),
        },
        opt_count=jnp.arange(4, dtype=jnp.int32),
        key=jr.split(k3, 4),
        host_stats=np.array([np.nan, -0.0, 1e-310]),
        epoch=seed,
        activation=jnp.tanh,
        name="ctrnn",
    )


def _bits(x):
    if jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
        x = jr.key_data(x)
    x = np.asarray(x)
    return x.dtype, x.shape, x.tobytes()


def _assert_bit_identical(a, b):
    la, ta = jax.tree_util.tree_flatten(a)
    lb, tb = jax.tree_util.tree_flatten(b)
    assert ta == tb
    for x, y in zip(la, lb):
        if eqx.is_array(x) or isinstance(x, np.ndarray):
            assert type(x) is type(y) or (isinstance(x, jax.Array) and isinstance(y, jax.Array))
            assert x.dtype == y.dtype
            assert _bits(x) == _bits(y)
        else:
            assert x == y and type(x) is type(y)


def test_round_trip_is_bit_exact_with_typed_keys(store):
    state = _state(3)
    save_checkpoint(store, "g0", REGION, state, meta={"step": 1200, "history": 12})
    got, meta = load_checkpoint(store, "g0", REGION, like=_state(0))
    assert meta == {"step": 1200, "history": 12}
    _assert_bit_identical(got, state)
    assert jnp.issubdtype(got.key.dtype, jax.dtypes.prng_key)
    # the restored keys draw the same numbers
    np.testing.assert_array_equal(jax.vmap(jr.normal)(got.key), jax.vmap(jr.normal)(state.key))
    assert read_checkpoint_meta(store, "g0", REGION) == {"step": 1200, "history": 12}


def test_load_into_an_abstract_template(store):
    state = _state(1)
    save_checkpoint(store, "g0", REGION, state, meta={"step": 5})
    like = eqx.filter_eval_shape(_state, 0)
    like = eqx.tree_at(lambda s: s.host_stats, like, np.zeros(3))
    got, _ = load_checkpoint(store, "g0", REGION, like=like)
    np.testing.assert_array_equal(got.params["W_rec"], state.params["W_rec"])
    np.testing.assert_array_equal(jr.key_data(got.key), jr.key_data(state.key))


def test_missing_checkpoint_is_none(store):
    assert load_checkpoint(store, "g0", REGION, like=_state(0)) is None
    assert read_checkpoint_meta(store, "g0", REGION) is None


def test_template_mismatch_is_refused(store):
    save_checkpoint(store, "g0", REGION, _state(1))
    wrong_shape = eqx.tree_at(lambda s: s.opt_count, _state(0), jnp.zeros(5, jnp.int32))
    with pytest.raises(
        ValueError,
        match=r"leaf \.opt_count is an array of shape \(4,\) and dtype int32, but the template has array of shape \(5,\)",
    ):
        load_checkpoint(store, "g0", REGION, like=wrong_shape)
    wrong_dtype = eqx.tree_at(lambda s: s.opt_count, _state(0), jnp.zeros(4, jnp.float32))
    with pytest.raises(
        ValueError, match="dtype int32, but the template has array of shape .4,. and dtype float32"
    ):
        load_checkpoint(store, "g0", REGION, like=wrong_dtype)
    with pytest.raises(ValueError, match="different structure than the template"):
        load_checkpoint(store, "g0", REGION, like={"a": jnp.zeros(3)})


def test_leftover_temporary_file_is_ignored_then_cleaned(store):
    save_checkpoint(store, "g0", REGION, _state(1), meta={"step": 1})
    directory = store / "_checkpoints" / "groups" / "g0" / REGION
    # what a writer killed mid-save leaves: a half-written temporary file
    junk = directory / "checkpoint.npz.0123456789abcdef.partial"
    junk.write_bytes(b"PK\x03\x04 half a zip")
    got, meta = load_checkpoint(store, "g0", REGION, like=_state(0))
    assert meta == {"step": 1}
    _assert_bit_identical(got, _state(1))
    save_checkpoint(store, "g0", REGION, _state(2), meta={"step": 2})
    assert not junk.exists()
    assert sorted(p.name for p in directory.iterdir()) == ["checkpoint.npz"]
    assert load_checkpoint(store, "g0", REGION, like=_state(0))[1] == {"step": 2}
    remove_checkpoint(store, "g0", REGION)
    assert load_checkpoint(store, "g0", REGION, like=_state(0)) is None


def test_kill_during_saves_leaves_a_whole_checkpoint(store, build):
    # a writer saving large checkpoints in a loop is killed at an arbitrary moment;
    # whatever is on disk must be one complete checkpoint, consistent with its meta
    proc = build.python(
        f"""
        import numpy as np
        from neurodyn.store import save_checkpoint
        step = 0
        while True:
            save_checkpoint({str(store)!r}, "g0", {REGION!r},
                            {{"w": np.full(500_000, step, dtype=np.float64)}},
                            meta={{"step": step}})
            step += 1
            if step == 3:
                print("saving", flush=True)
        """
    )
    assert proc.stdout.readline().strip() == "saving", proc.stderr.read()
    time.sleep(0.37)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    proc.stderr.close()
    got, meta = load_checkpoint(store, "g0", REGION, like={"w": np.zeros(500_000)})
    assert meta["step"] >= 2
    assert (got["w"] == meta["step"]).all()
