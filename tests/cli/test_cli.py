import os
import subprocess
import sys

import pytest
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


def _opens_in_plain_xarray(path):
    """The demo's store read by plain xarray and zarr, every warning an error: the
    hierarchy walks without a word about the bookkeeping directories, every variable says
    what it is, trajectories have a time coordinate, and string columns filter and go to
    pandas."""
    import warnings

    import xarray as xr
    import zarr

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tree = xr.open_datatree(str(path), engine="zarr")
        nodes = {node.path for node in tree.subtree}
        assert {"/members", "/groups/g0"} <= nodes and any(n.startswith("/analyses/") for n in nodes), nodes
        generic = []
        for node in tree.subtree:
            for name, var in node.dataset.variables.items():
                assert var.attrs.get("long_name"), (node.path, name)
                if node.path.startswith("/analyses/") or node.path == "/members":
                    if var.attrs["long_name"] == str(name).replace("_", " ").strip():
                        generic.append((node.path, name))
        assert not generic, f"variables named only by their own name: {generic}"
        names = [name for name, _ in zarr.open_group(str(path), mode="r").members(max_depth=None)]
        assert "members/status" in names and not any(n.startswith("_") for n in names)
        members = xr.open_zarr(str(path), group="members").load()
        group = xr.open_zarr(str(path), group="groups/g0")
    assert group["time"].attrs["units"] == "steps" and int(group["time"][0]) == 1
    assert group["t"].attrs["units"] == "model time units"
    assert float(group["t"][1] - group["t"][0]) == pytest.approx(0.2)  # the demo's CTRNN has dt = 0.2
    assert members["steps_trained"].attrs == {"long_name": "training steps taken", "units": "steps"}
    kept = members.where(members["final_loss"] < float(members["final_loss"].median()) + 1e-12, drop=True)
    assert 0 < kept.sizes["member"] <= members.sizes["member"]
    assert set(kept["status"].values) <= set(members["status"].values)
    frame = members.to_dataframe()
    assert list(frame["status"]) == [str(s) for s in members["status"].values]


# 50 s: the slow suite keeps the fast one under CI's 10 minutes (make demo runs the full demo)
@pytest.mark.slow
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
    _opens_in_plain_xarray(out / "demo.zarr")
    # A second demo into the same folder keeps the first one's store unless asked.
    stored = sorted(p.name for p in out.rglob("*"))
    again = subprocess.run(
        [sys.executable, "-m", "neurodyn.cli", "demo", "--tiny", "--out", str(out)],
        capture_output=True, text=True, timeout=900, env={**os.environ, "COLUMNS": "200"},
    )
    assert again.returncode == 2, again.stderr[-2000:]
    assert "--overwrite" in again.stderr and "Traceback" not in again.stderr
    assert sorted(p.name for p in out.rglob("*")) == stored
