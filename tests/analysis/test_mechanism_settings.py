"""Settings of the mechanism analyses: the study's defaults, routing, and every error,
from Python and from `neurodyn analyze --hmm-mechanism` (one line, before any work)."""

import json

import jax.numpy as jnp
import jax.random as jr
import pytest
from typer.testing import CliRunner

import neurodyn.analysis as na
from neurodyn.cli import app
from neurodyn.models import VanillaRNN


def test_defaults_are_the_studys_thresholds():
    s = na.HMMMechanism()
    r = s.residency
    assert (r.n_continuations, r.max_dwell, r.transition_below, r.kick_max, r.cluster_confidence) == (20, 50, 2.0, 8.0, 0.8)
    g = s.global_dynamics
    assert (g.scales, g.n_steps, g.n_samples, g.n_relax) == ((0.1, 1.0, 2.0, 3.0, 4.0), 30_000, 100, 500)
    assert 0.0 in s.drive_scaling.mu and 1.0 in s.drive_scaling.mu


def test_keywords_are_routed_to_every_part_with_that_field():
    s = na.HMMMechanism(noise_std=2.0, n_steps=500, max_dwell=60)
    assert (s.residency.noise_std, s.drive_scaling.noise_std, s.training.noise_std) == (2.0, 2.0, 2.0)
    assert (s.global_dynamics.n_steps, s.drive_scaling.n_steps, s.training.n_steps) == (500, 500, 500)
    assert s.residency.max_dwell == 60 and s.global_dynamics.scales == (0.1, 1.0, 2.0, 3.0, 4.0)
    # a part passed whole, with a keyword on top
    s = na.HMMMechanism(residency=na.Residency(n_continuations=5), max_dwell=40)
    assert (s.residency.n_continuations, s.residency.max_dwell) == (5, 40)
    stored = json.loads(json.dumps(na.settings_dict(s)))
    assert stored["residency"]["max_dwell"] == 40 and stored["global_dynamics"]["scales"][-1] == 4.0
    assert na.HMMMechanism(scales=2.0).global_dynamics.scales == (2.0,)


@pytest.mark.parametrize(
    "build, error, message",
    [
        (lambda: na.Residency(kick_max=60), ValueError, r"transition_below <= kick_max < max_dwell, got 2.0, 60 and 50"),
        (lambda: na.Residency(cluster_confidence=1.5), ValueError, r"cluster_confidence=1.5 is outside the allowed range \[0, 1\]"),
        (lambda: na.GlobalDynamics(n_steps=5, n_samples=10), ValueError, r"n_samples=10 must not exceed n_steps=5"),
        (lambda: na.GlobalDynamics(scales=[]), ValueError, r"scales must hold at least one number, got an empty list"),
        (lambda: na.GlobalDynamics(scales=[1, 0]), ValueError, r"scales=\[0.0\] is outside the allowed range \(0, inf\)"),
        (lambda: na.DriveScaling(target="pops"), ValueError, r"target='pops' is not one of \['kick', 'populations'\]\. Did you mean 'populations'\?"),
        (lambda: na.UnitSearch(n_kick=0), ValueError, r"UnitSearch: n_kick must be an integer >= 1, got 0"),
        (lambda: na.TrainingDynamics(n_relax=0), ValueError, r"TrainingDynamics: n_relax must be an integer >= 1"),
        (lambda: na.HMMMechanism(max_dwel=5), TypeError, r"unknown setting 'max_dwel'\. Did you mean 'max_dwell'\?"),
        (lambda: na.HMMMechanism(residency=na.UnitSearch()), TypeError, r"residency must be a Residency, got UnitSearch"),
    ],
)
def test_settings_errors_name_the_field_and_the_fix(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_parts_bring_what_they_need():
    from neurodyn.analysis._mechanism._settings import resolve_parts

    assert resolve_parts("f", None) == ("global_dynamics", "residency", "linearisation", "units", "drive_scaling")
    assert resolve_parts("f", ["drive_scaling"]) == ("residency", "units", "drive_scaling")
    assert resolve_parts("f", ("linearisation", "global_dynamics")) == ("global_dynamics", "residency", "linearisation")
    with pytest.raises(ValueError, match=r"f: parts holds 'residence', which is not one of .* Did you mean 'residency'\?"):
        resolve_parts("f", ["residence"])
    with pytest.raises(ValueError, match=r"f: parts is empty; name at least one of"):
        resolve_parts("f", [])


def test_analyses_refuse_settings_of_another_kind():
    model = VanillaRNN(1, 3, 2, activation="relu", bias=False, key=jr.key(0))
    with pytest.raises(TypeError, match=r"residency: settings must be a Residency, got GlobalDynamics"):
        na.residency(model, jnp.zeros((2, 3)), settings=na.GlobalDynamics(), key=jr.key(0))
    with pytest.raises(TypeError, match=r"global_dynamics: unknown setting 'scale'\. Did you mean 'scales'\?"):
        na.global_dynamics(model, scale=1.0, key=jr.key(0))


@pytest.mark.parametrize(
    "options, expected",
    [
        (["--mu", "-1"], "DriveScaling: mu=[-1.0] is outside the allowed range [0, inf)"),
        (["--noise-scale", "0"], "GlobalDynamics: scales=[0.0] is outside the allowed range (0, inf)"),
        (["--mechanism-setting", "max_dwel=5"], "unknown setting 'max_dwel'. Did you mean 'max_dwell'?"),
        (["--mechanism-setting", "max_dwell"], "--mechanism-setting 'max_dwell' must look like name=value"),
        (["--mechanism-setting", "kick_max=60"], "transition_below <= kick_max < max_dwell"),
        (["--noise-std", "-0.5"], "noise_std=-0.5 is outside the allowed range [0, inf)"),
        (["--mechanism-part", "orbits"], "hmm_mechanism: parts holds 'orbits', which is not one of"),
    ],
)
def test_cli_bad_mechanism_settings_are_one_line_errors(options, expected, tmp_path):
    # settings are checked before the store is opened: the store need not exist
    args = ["analyze", str(tmp_path / "none.zarr"), "--hmm-mechanism", *options]
    result = CliRunner().invoke(app, args, prog_name="neurodyn", env={"COLUMNS": "80"})
    assert (result.exit_code, result.stdout) == (2, ""), result.output
    error = result.stderr
    assert error.startswith("error: ") and error.count("\n") == 1, error
    assert expected in error, error
    assert "Traceback" not in error


def test_cli_names_the_mechanism_among_the_analyses(tmp_path):
    result = CliRunner().invoke(app, ["analyze", str(tmp_path / "none.zarr")], env={"COLUMNS": "80"})
    assert result.exit_code == 2
    assert "--hmm-mechanism" in result.stderr
