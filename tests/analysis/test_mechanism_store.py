"""The mechanism analyses over a store: written, merged, refused, replaced, and the CLI."""

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

import neurodyn
import neurodyn.analysis as na
from neurodyn.analysis._mechanism._store import member_keys
from neurodyn.cli import app
from neurodyn.store._cf import describe

pytestmark = pytest.mark.slow  # a sweep and the whole mechanism compiled: about a minute

SPEC = {
    "task": {"name": "hmm", "hmm": "linear_chain", "n_states": 2, "n_time": 8, "input_size": 3, "n_iter": 5},
    "model": {"name": "vanilla", "hidden_size": 8, "activation": "relu", "bias": False, "readout_bias": False},
    "train": {"learning_rate": 1e-3, "n_steps": 4, "eval_every": 2, "batch_size": 4, "eval_batch_size": 4},
    "sweep": {"seeds": 3, "trajectories": 2, "snapshot_every": 2},
}
SMALL = dict(
    scales=(0.5, 1.0), n_steps=200, burn_in=10, n_samples=8, n_relax=30, n_trace=20, chunk_size=100,
    n_time=40, n_continuations=4, max_dwell=20, n_kick=2, mu=(0.0, 1.0), n_sequences=8,
    sequence_length=10,
)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    out = tmp_path_factory.mktemp("mechanism") / "s.zarr"
    neurodyn.run_sweep(SPEC, out, progress=False)
    return out


def test_results_are_stored_per_member_and_match_the_single_model_analysis(store, tmp_path):
    results = na.hmm_mechanism(store, members_per_chunk=2, progress=False, figures=tmp_path, replace=True, **SMALL)
    sweep = neurodyn.open_sweep(store)
    assert "hmm_mechanism" in sweep.analyses and sorted(results) == ["g0"]
    ds = results["g0"]
    xr.testing.assert_identical(sweep.analysis("hmm_mechanism", group="g0").load(), describe(ds.load()))
    assert ds.sizes["member"] == 3 and ds.sizes["scale"] == 2 and ds.sizes["mu"] == 2
    settings = sweep.analysis("hmm_mechanism").attrs["settings"]
    assert settings["residency"]["max_dwell"] == 20 and settings["drive_scaling"]["mu"] == [0.0, 1.0]
    # the stored parameter snapshots were analysed, with the loss at each snapshot step
    assert ds.sizes["snapshot"] == 2 and list(ds["snapshot_step"].values) == [2, 4]
    assert np.isfinite(ds["training_loss"].values).all()
    # each member equals the one-network analysis of its stored model with its own keys
    settings = na.HMMMechanism(**SMALL)
    keys = member_keys(0, np.arange(3))
    for m in range(3):
        one = na.analyse_mechanism(neurodyn.open_sweep(store).model(m), settings=settings, key=keys[m, 0])
        row = ds.sel(member=m)
        np.testing.assert_array_equal(row["residency_label"].values, np.asarray(one.residency.label))
        np.testing.assert_array_equal(row["units_kick"].values, np.asarray(one.kick.index))
        np.testing.assert_allclose(row["global_radius"].values, np.asarray(one.global_dynamics.radius), rtol=1e-4)
        np.testing.assert_allclose(row["scaling_changes"].values, np.asarray(one.drive_scaling.changes), rtol=1e-5)
    assert sorted(p.name for p in tmp_path.glob("*.png")) == [f"hmm_mechanism_member{m}.png" for m in range(3)]


def test_chunking_and_selection_do_not_change_a_members_results(store):
    whole = na.hmm_mechanism(store, members_per_chunk=3, progress=False, replace=True, **SMALL)["g0"].load()
    na.hmm_mechanism(store, members_per_chunk=1, selection={"seed": 1}, progress=False, **SMALL)
    merged = neurodyn.open_sweep(store).analysis("hmm_mechanism").load()
    assert merged.sizes["member"] == 3
    for name in ("residency_dwell", "units_kick", "scaling_changes", "global_radius", "training_n_unstable"):
        np.testing.assert_allclose(merged[name].values, whole[name].values, rtol=1e-5, err_msg=name)


def test_other_settings_are_refused_and_replace_replaces(store):
    na.hmm_mechanism(store, progress=False, replace=True, **SMALL)
    before = neurodyn.open_sweep(store).analysis("hmm_mechanism").load()
    with pytest.raises(ValueError, match=r"other settings \(residency: .*'max_dwell': 20.*replace=True"):
        na.hmm_mechanism(store, progress=False, **{**SMALL, "max_dwell": 25})
    xr.testing.assert_identical(neurodyn.open_sweep(store).analysis("hmm_mechanism").load(), before)
    with pytest.raises(ValueError, match=r"other settings \(parts: .* -> \['residency'\]\)"):
        na.hmm_mechanism(store, progress=False, parts=["residency"], **SMALL)
    na.hmm_mechanism(store, selection={"seed": 0}, progress=False, replace=True, training=False, parts=["residency"], **SMALL)
    after = neurodyn.open_sweep(store).analysis("hmm_mechanism").load()
    assert after.sizes["member"] == 1 and "training_radius" not in after and "global_radius" not in after
    np.testing.assert_array_equal(after["residency_dwell"].values, before["residency_dwell"].sel(member=[0]).values)


def test_cli_runs_the_mechanism_and_prints_a_table(store):
    args = ["analyze", str(store), "--hmm-mechanism", "--replace", "--select", "seed=2"]
    for k, v in SMALL.items():
        if k == "mu":
            args += [x for m in v for x in ("--mu", str(m))]
        elif k == "scales":
            args += [x for s in v for x in ("--noise-scale", str(s))]
        else:
            args += ["--mechanism-setting", f"{k}={v}"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "HMM emulation mechanism per member" in result.output
    ds = neurodyn.open_sweep(store).analysis("hmm_mechanism").load()
    assert list(ds["member"].values) == [2] and list(ds["mu"].values) == [0.0, 1.0]
    assert ds.attrs["settings"]["global_dynamics"]["scales"] == [0.5, 1.0]
    assert ds.attrs["settings"]["residency"]["n_continuations"] == 4


def test_the_validation_best_parameters_are_analysed_on_request(store):
    sweep = neurodyn.open_sweep(store)
    ds = sweep.group("g0").load()
    losses = ds["eval_loss"].values  # evaluations at steps 2 and 4, snapshots at both
    assert list(ds["eval_step"].values) == list(ds["snapshot_step"].values) == [2, 4]
    for pos, m in enumerate(ds["member"].values):
        best = int(np.argmin(losses[pos]))  # snapshot 2 == final parameters (step 4)
        np.testing.assert_array_equal(
            np.asarray(sweep.model(int(m), which="best").W_rec), ds["snapshot_W_rec"].values[pos, best]
        )
    np.testing.assert_array_equal(ds["snapshot_W_rec"].values[:, 1], ds["final_W_rec"].values)
    one = na.hmm_mechanism(store, selection={"seed": 0}, progress=False, replace=True, which="best",
                           training=False, parts=["residency"], **SMALL)["g0"]
    assert neurodyn.open_sweep(store).analysis("hmm_mechanism").attrs["settings"]["parameters"] == "best"
    expected = na.analyse_mechanism(sweep.model(0, which="best"), settings=na.HMMMechanism(**SMALL),
                                    parts=["residency"], key=member_keys(0, np.arange(3))[0, 0])
    np.testing.assert_array_equal(one["residency_label"].values[0], np.asarray(expected.residency.label))
    result = CliRunner().invoke(app, ["analyze", str(store), "--fixed-points", "--parameters", "best"])
    assert result.exit_code == 2 and "--parameters applies to --hmm-mechanism only" in result.output
