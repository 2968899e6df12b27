import numpy as np
import pytest
import xarray as xr

import neurodyn
import neurodyn.analysis as na
from neurodyn.store._cf import describe

SPEC = {
    "task": {"name": "flipflop", "n_bits": 1, "n_time": 12, "p": 0.1},
    "model": {"name": "vanilla", "hidden_size": 5},
    "train": {"learning_rate": [1e-3, 1e-2], "n_steps": 8, "eval_every": 4, "batch_size": 4, "eval_batch_size": 4},
    "sweep": {"seeds": 3, "trajectories": 3},
}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    out = tmp_path_factory.mktemp("dg") / "s.zarr"
    neurodyn.run_sweep(SPEC, out, progress=False)
    return out


def test_degeneracy_of_a_store(store):
    ds = na.degeneracy(store, rank=3, dsa_restarts=2, perm_restarts=2, n_ood_trials=8, members_per_chunk=4, progress=False)
    assert ds.sizes == {"member": 6, "member_": 6, "condition": 2}
    codes = ds["member_condition"].values
    for name in ("dsa_distance", "weight_distance", "cka", "output_distance"):
        m = ds[name].values
        same = codes[:, None] == codes[None, :]
        off = ~np.eye(6, dtype=bool)
        # pairs are taken within a condition: computed there, NaN across conditions
        assert np.all(np.isfinite(m[same & off])) and np.all(np.isnan(m[~same]))
        np.testing.assert_allclose(m[same], m.T[same])
    assert np.allclose(np.diag(ds["cka"].values), 1.0)
    ood = ds["ood_loss"].values
    for c in range(2):
        np.testing.assert_allclose(ds["sigma_ood"].values[c], np.std(ood[codes == c], ddof=1), rtol=1e-6)
    stored = neurodyn.open_sweep(store).analysis("degeneracy").load()
    xr.testing.assert_identical(stored, describe(ds.load()))


def test_degeneracy_refuses_unknown_names(store):
    with pytest.raises(ValueError, match="levels='dynamcs' is not one of"):
        na.degeneracy(store, levels=("dynamcs",), progress=False)
    with pytest.raises(ValueError, match="condition_by names 'learning_rat'.*Did you mean 'learning_rate'"):
        na.degeneracy(store, condition_by=["learning_rat"], progress=False)


def test_a_settings_object_is_the_keywords(store, tmp_path):
    import shutil

    copy = tmp_path / "copy.zarr"
    shutil.copytree(store, copy)
    keywords = dict(levels=["dynamics", "weights"], rank=3, dsa_restarts=2, perm_restarts=2)
    by_keywords = na.degeneracy(store, members_per_chunk=4, progress=False, replace=True, **keywords)
    chosen = na.DegeneracySettings(**keywords)
    assert chosen.levels == ("dynamics", "weights") and chosen.dsa_scores == ("distance", "angle", "spectral")
    by_object = na.degeneracy(copy, settings=chosen, members_per_chunk=4, progress=False, replace=True)
    xr.testing.assert_identical(by_object, by_keywords)
    # keywords replace the object's fields
    replaced = na.degeneracy(copy, settings=na.DegeneracySettings(rank=5, **{k: v for k, v in keywords.items() if k != "rank"}),
                             rank=3, members_per_chunk=4, progress=False, replace=True)
    xr.testing.assert_identical(replaced, by_keywords)
    with pytest.raises(ValueError, match="degeneracy: rank must be an integer >= 1"):
        na.DegeneracySettings(rank=0)
    with pytest.raises(ValueError, match="dsa_scores names 'angular'.*is 'angle' here"):
        na.DegeneracySettings(dsa_scores=["angular"])
    with pytest.raises(TypeError, match="degeneracy: whiten must be True or False"):
        na.DegeneracySettings(whiten="yes")
    with pytest.raises(TypeError, match=r"unknown setting 'ranks'.*'rank'"):
        na.degeneracy(store, ranks=3, progress=False)
    with pytest.raises(TypeError, match="settings must be a DegeneracySettings"):
        na.degeneracy(store, settings=na.TimescaleSettings(), progress=False)


@pytest.mark.slow  # trains an HMM sweep
def test_the_behaviour_level_of_an_hmm_sweep_is_its_sinkhorn_loss(tmp_path):
    # The HMM task owns its loss (a Sinkhorn divergence between generated and target
    # sequences); the out-of-distribution loss must be that one, not an MSE.
    import jax
    import jax.random as jr

    spec = {
        "task": {"name": "hmm", "n_time": 8, "input_size": 4, "n_iter": 20},
        "model": {"name": "vanilla", "hidden_size": 5},
        "train": {"n_steps": 4, "eval_every": 4, "batch_size": 4, "eval_batch_size": 4},
        "sweep": {"seeds": 2, "trajectories": 2},
    }
    out = tmp_path / "hmm.zarr"
    neurodyn.run_sweep(spec, out, progress=False)
    ds = na.degeneracy(out, levels=("behaviour",), n_ood_trials=8, members_per_chunk=4, seed=3, progress=False)
    sweep = neurodyn.open_sweep(out)
    # the driver's key for the first (only) chunk, and the behaviour level's draws from it
    draws = jr.split(jr.split(jr.key(3))[1], 2)
    ood = neurodyn.tasks.HMMEmulation(n_time=8, input_size=4, n_iter=20).ood()
    trials = ood.sample_batch(8, key=draws[0])
    for i, member in enumerate(ds["member"].values):
        model = sweep.model(int(member))
        outputs = jax.vmap(lambda x, model=model: model(x).output)(trials.inputs)
        expected = float(ood.batch_loss(outputs, trials, key=jr.fold_in(draws[0], 1)))
        mse = float(neurodyn.train.masked_mse(outputs, trials.targets, trials.mask))
        np.testing.assert_allclose(ds["ood_loss"].values[i], expected, rtol=1e-5)
        assert abs(expected - mse) > 1e-3
    np.testing.assert_allclose(ds["sigma_ood"].values, [np.std(ds["ood_loss"].values, ddof=1)], rtol=1e-6)
