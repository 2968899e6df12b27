import os
import subprocess
import sys

from typer.testing import CliRunner

from neurodyn.cli import app

runner = CliRunner()


def test_help_lists_every_command():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("demo", "tasks", "models"):
        assert command in result.output


def test_version_prints_the_package_version():
    from neurodyn._version import __version__

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"neurodyn {__version__}\n"


def test_tasks_lists_parameters_defaults_and_ranges():
    result = runner.invoke(app, ["tasks"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "flipflop" in result.output and "n_bits" in result.output
    assert "int in [1, inf)" in result.output


def test_demo_tiny_runs_end_to_end(tmp_path):
    out = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "neurodyn.cli", "demo", "--tiny", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "COLUMNS": "80"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "…" not in result.stdout, result.stdout
    assert "sign accuracy" in result.stdout
    for table in ("Fixed points (zero input)", "Timescales in steps", "degeneracy per condition"):
        assert table in result.stdout, table
    for name in ("example_trials.png", "loss_curves.png"):
        assert (out / name).stat().st_size > 5_000
    assert str(out) in result.stdout.replace("\n", "")
    # A second demo into the same folder keeps the first one's store unless asked.
    stored = sorted(p.name for p in out.rglob("*"))
    again = subprocess.run(
        [sys.executable, "-m", "neurodyn.cli", "demo", "--tiny", "--out", str(out)],
        capture_output=True, text=True, timeout=900, env={**os.environ, "COLUMNS": "200"},
    )
    assert again.returncode == 2, again.stderr[-2000:]
    assert "--overwrite" in again.stderr and "Traceback" not in again.stderr
    assert sorted(p.name for p in out.rglob("*")) == stored
