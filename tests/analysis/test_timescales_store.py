import numpy as np
import pytest

import neurodyn
import neurodyn.analysis as na

SPEC = {
    "task": {"name": "flipflop", "n_bits": 1, "n_time": 10, "p": 0.1},
    "model": {"name": "leaky_rate", "hidden_size": 5, "tau": [1.0, 3.0]},
    "train": {"learning_rate": 1e-2, "n_steps": 4, "eval_every": 4, "batch_size": 4, "eval_batch_size": 4},
    "sweep": {"seeds": 1, "trajectories": 2},
}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    out = tmp_path_factory.mktemp("ts") / "s.zarr"
    neurodyn.run_sweep(SPEC, out, progress=False)
    return out


def test_timescales_of_a_store_match_the_per_model_analysis(store):
    import jax.random as jr

    results = na.timescales(store, n_steps=600, burn_in=50, max_lag=20, fit_lag=10, members_per_chunk=2, progress=False)
    ds = results["g0"]
    assert ds["tau_net"].dims == ("member", "hidden") and ds.sizes["member"] == 2
    sweep = neurodyn.open_sweep(store)
    # learned tau is read from the stored models: clamped at >= 1 for the leaky network
    np.testing.assert_allclose(ds["learned_tau"].values[1], np.maximum(np.asarray(sweep.model(1).tau), 1.0), rtol=1e-6)
    stored = sweep.analysis("timescales").load()
    np.testing.assert_array_equal(stored["tau_net"].values, ds["tau_net"].values)
    # one member alone, outside the driver, with the key the driver gave it
    key = jr.split(jr.split(jr.key(0))[1], 2)[1]
    one = na.autocorrelation_timescales(sweep.model(1), na.BinaryInput(), n_steps=600, burn_in=50, key=key, max_lag=20, fit_lag=10)
    np.testing.assert_allclose(np.asarray(one.autocorrelation), ds["autocorrelation"].values[1], rtol=1e-4, atol=1e-5)


def test_bad_settings_are_refused(store):
    with pytest.raises(ValueError, match="input='pink' is not one of"):
        na.timescales(store, input="pink", progress=False)
    with pytest.raises(ValueError, match="fit_lag=30 must be below max_lag=20"):
        na.timescales(store, max_lag=20, progress=False)


def test_timescale_settings_object_and_its_errors():
    import neurodyn.analysis as na

    drive = na.TimescaleSettings(n_steps=500, fit_lag=10, max_lag=20)
    assert drive.stored() == {"input": "binary", "input_std": 1.0, "n_steps": 500, "burn_in": 1000,
                              "n_trials": 1, "max_lag": 20, "fit_lag": 10}
    with pytest.raises(ValueError, match=r"timescales: fit_lag=30 must be below max_lag=20"):
        na.TimescaleSettings(max_lag=20)
    with pytest.raises(ValueError, match=r"timescales: input"):
        na.TimescaleSettings(input="pink")
    with pytest.raises(TypeError, match=r"unknown setting 'n_step'.*n_steps"):
        na.timescales("nowhere.zarr", n_step=5)


def test_the_drive_solved_in_parallel_over_time_equals_the_scan(store, monkeypatch):
    """`time_solver="deer"` solves each chunk of the drive by Newton's method over the
    chunk: the same steps and noise keys as the scan, so the same run (float64, to
    rounding)."""
    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import jax.random as jr

    from neurodyn.analysis import _long_runs

    solved = []  # the methods the drive handed to neurodyn.parallel.evaluate (at trace time)
    real = _long_runs.parallel_evaluate
    monkeypatch.setattr(_long_runs, "parallel_evaluate", lambda *a, **k: solved.append(k["method"]) or real(*a, **k))
    sweep = neurodyn.open_sweep(store)
    with jax.enable_x64(True):
        model = jax.tree_util.tree_map(lambda x: x.astype(jnp.float64) if eqx.is_inexact_array(x) else x,
                                       sweep.model(1))
        for noise in (False, True):
            noisy = eqx.tree_at(lambda m: m.noise_std, model, jnp.float64(0.1)) if noise else model
            kw = dict(burn_in=30, key=jr.key(3), chunk_size=50, n_trials=2, noise=noise)
            scan = na.drive(noisy, na.GaussianInput(), 100, **kw)
            deer = na.drive(noisy, na.GaussianInput(), 100, time_solver="deer", **kw)
            assert scan.shape == (2, 100, 5)
            np.testing.assert_allclose(np.asarray(deer), np.asarray(scan), rtol=0, atol=1e-12)
            assert float(np.std(np.asarray(scan))) > 1e-3  # a run that moves
    assert set(solved) == {"deer"}
    with pytest.raises(ValueError, match="time_solver='newton' is not one of"):
        na.TimescaleSettings(time_solver="newton")
    with pytest.raises(ValueError, match="time_solver='newton' is not one of"):
        na.drive(model, na.ZeroInput(), 10, key=jr.key(0), time_solver="newton")


@pytest.mark.slow  # the fast suite checks the per-model drive above
def test_the_store_level_analysis_solved_in_parallel_equals_the_scan(store, monkeypatch):
    from neurodyn.analysis import _long_runs

    solved = []
    real = _long_runs.parallel_evaluate
    monkeypatch.setattr(_long_runs, "parallel_evaluate", lambda *a, **k: solved.append(k["method"]) or real(*a, **k))
    kw = dict(n_steps=200, burn_in=20, chunk_size=100, max_lag=20, fit_lag=10, members_per_chunk=2,
              progress=False, replace=True)
    scan = na.timescales(store, **kw)["g0"]
    deer = na.timescales(store, time_solver="deer", **kw)["g0"]
    np.testing.assert_allclose(deer["autocorrelation"].values, scan["autocorrelation"].values, atol=1e-5)
    assert set(solved) == {"deer"}


def test_the_store_level_fit_takes_the_guards_of_fit_autocorrelation(store):
    """criterion / min_fraction / min_separation reach the fit (the same numbers as the
    per-model analysis with them) and are stored only where they differ from the default."""
    import jax.random as jr

    assert "criterion" not in na.TimescaleSettings().stored()
    guarded = na.TimescaleSettings(n_steps=600, burn_in=50, max_lag=20, fit_lag=10, min_separation=3.0, criterion="bic")
    assert guarded.stored()["min_separation"] == 3.0 and guarded.stored()["criterion"] == "bic"
    ds = na.timescales(store, settings=guarded, members_per_chunk=2, progress=False, replace=True)["g0"]
    sweep = neurodyn.open_sweep(store)
    key = jr.split(jr.split(jr.key(0))[1], 2)[1]
    one = na.autocorrelation_timescales(sweep.model(1), na.BinaryInput(), n_steps=600, burn_in=50, key=key,
                                        max_lag=20, fit_lag=10, min_separation=3.0, criterion="bic")
    np.testing.assert_allclose(np.asarray(one.fit.tau_net), ds["tau_net"].values[1], rtol=1e-4)
    assert "min_separation" in sweep.analysis("timescales").attrs["settings"]
    with pytest.raises(ValueError, match="criterion='aicc' is not one of"):
        na.TimescaleSettings(criterion="aicc")
    with pytest.raises(ValueError, match="min_fraction"):
        na.TimescaleSettings(min_fraction=0.5)
