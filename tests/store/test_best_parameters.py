"""The validation-best parameters: the stored snapshot (or the final parameters) at the
evaluation with the lowest held-out loss, chosen per member."""

import equinox as eqx
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr

from neurodyn.store import best_parameters
from neurodyn.store._sweep_store import with_parameters

NAN = np.nan
# evaluations at steps 10, 20, 30, 40; snapshots at steps 10 and 30
LOSSES = np.array(
    [
        [1.0, 4.0, 3.0, 2.0],  # the snapshot at step 10 is best
        [5.0, 4.0, 3.0, 2.0],  # the final parameters (last evaluation) are best
        [4.0, 2.0, NAN, NAN],  # stopped after step 20: final is best, at step 20
        [3.0, 4.0, 1.0, 1.0],  # a tie between the step-30 snapshot and final: the earlier step
    ]
)
STEPS_TRAINED = np.array([40, 40, 20, 40])


class Tiny(eqx.Module):
    weight: jnp.ndarray
    count: jnp.ndarray


def dataset() -> xr.Dataset:
    snap = np.arange(4 * 2 * 3, dtype=np.float32).reshape(4, 2, 3)
    final = -np.arange(4 * 3, dtype=np.float32).reshape(4, 3) - 1
    return xr.Dataset(
        {
            "eval_loss": (("member", "epoch"), LOSSES.astype(np.float32)),
            "steps_trained": (("member",), STEPS_TRAINED),
            "final_weight": (("member", "unit"), final),
            "init_weight": (("member", "unit"), np.zeros((4, 3), np.float32)),
            "snapshot_weight": (("member", "snapshot", "unit"), snap),
            "final_count": (("member",), np.array([7, 8, 9, 10])),  # not floating: never snapshotted
        },
        coords={
            "member": np.arange(4),
            "epoch": np.arange(1, 5),
            "eval_step": ("epoch", np.array([10, 20, 30, 40])),
            "snapshot_step": ("snapshot", np.array([10, 30])),
        },
    )


def test_each_member_gets_its_lowest_held_out_loss():
    ds = dataset()
    best = best_parameters(ds)
    snap, final = ds["snapshot_weight"].values, ds["final_weight"].values
    expected = np.stack([snap[0, 0], final[1], final[2], snap[3, 1]])
    np.testing.assert_array_equal(best["best_weight"].values, expected)
    np.testing.assert_array_equal(best["best_step"].values, [10, 40, 20, 30])
    np.testing.assert_array_equal(best["best_eval_loss"].values, [1.0, 2.0, 2.0, 1.0])
    np.testing.assert_array_equal(best["best_count"].values, [7, 8, 9, 10])
    assert best["best_weight"].dims == ("member", "unit") and best["best_weight"].dtype == np.float32


def test_one_member_without_a_member_axis_and_the_rebuilt_model():
    ds = dataset()
    for m, want in [(0, ds["snapshot_weight"].values[0, 0]), (1, ds["final_weight"].values[1])]:
        one = best_parameters(ds.isel(member=m))
        np.testing.assert_array_equal(one["best_weight"].values, want)
        model = with_parameters(Tiny(jnp.zeros(3), jnp.zeros((), jnp.int32)), ds.isel(member=m), which="best")
        np.testing.assert_array_equal(np.asarray(model.weight), want)
        assert int(model.count) == 7 + m
    # stacked over members, the same choice per member
    stacked = with_parameters(Tiny(jnp.zeros(3), jnp.zeros((), jnp.int32)), ds, which="best")
    np.testing.assert_array_equal(np.asarray(stacked.weight), best_parameters(ds)["best_weight"].values)


def test_without_snapshots_it_is_refused_with_the_setting_that_stores_them():
    ds = dataset().drop_vars(["snapshot_weight", "snapshot_step"])
    with pytest.raises(ValueError, match=r"snapshot_every"):
        best_parameters(ds)
    with pytest.raises(ValueError, match=r"which.*'final', 'init', 'best'|one of"):
        with_parameters(Tiny(jnp.zeros(3), jnp.zeros((), jnp.int32)), dataset(), which="last")
