"""Every table and progress display at 80 columns, the width of a pipe, a SLURM log or
`| tee`: no cell cut to an ellipsis, every value whole on one line; `--json` parses."""

import io
import json
import re
import types

import numpy as np
import pytest
import xarray as xr
from rich.console import Console
from typer.testing import CliRunner

import neurodyn
import neurodyn.analysis as na
import neurodyn.cli as cli
from neurodyn._tables import print_degeneracy, print_table
from neurodyn._version import __version__
from neurodyn.spec import MODELS, TASKS
from neurodyn.sweep._progress import SweepProgress

runner = CliRunner()

#: one group, two regions; learning rates that differ in their third decimal, and a loss
#: threshold no network reaches in 8 steps, so every status is `not_converged`
SPEC = {
    "task": {"name": "flipflop", "n_bits": 2, "n_time": 10, "p": 0.1},
    "model": {"name": "ctrnn", "hidden_size": 6, "dt": 0.2},
    "train": {"learning_rate": [1e-3, 3e-3], "n_steps": 8, "eval_every": 4, "batch_size": 4,
              "eval_batch_size": 4, "loss_threshold": 1e-9},
    "sweep": {"seeds": 2, "members_per_chunk": 2, "trajectories": 2},
}

SPEC_TOML = """
[task]
name = "flipflop"
n_bits = 2
n_time = 10

[model]
name = "ctrnn"
hidden_size = [6, 8]

[train]
learning_rate = [0.001, 0.003]
n_steps = 8
eval_every = 4
batch_size = 4
eval_batch_size = 4

[sweep]
seeds = 2
members_per_chunk = 2
"""


def narrow() -> Console:
    """The console rich falls back to when output is not a terminal."""
    return Console(width=80, file=io.StringIO(), emoji=False)


def cells(text: str) -> set[str]:
    """Every table cell of `text` on one line, stripped (a header wrapped at its spaces
    gives one cell per line)."""
    out = set()
    for line in text.splitlines():
        for border in ("│", "┃"):
            if line.startswith(border):
                out.update(c.strip() for c in line.split(border)[1:-1])
    return out


def assert_readable(text: str, values=(), words=()):
    """No ellipsis, no line wider than 80, each value a whole cell, each word whole."""
    assert "…" not in text, text
    assert max(len(line) for line in text.splitlines()) <= 80, text
    found = cells(text)
    missing = [v for v in values if v not in found]
    assert not missing, f"{missing} not whole in\n{text}"
    tokens = set(text.split())
    missing = [w for w in words if w not in tokens]
    assert not missing, f"{missing} not whole in\n{text}"


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """A trained store, and what its (piped) progress printed."""
    path = tmp_path_factory.mktemp("narrow") / "run.zarr"
    console = narrow()
    neurodyn.run_sweep(SPEC, path, console=console)
    return path, console.file.getvalue()


@pytest.fixture
def cli_console(monkeypatch):
    console = narrow()
    monkeypatch.setattr(cli, "console", console)
    return console


def test_members_table_keeps_every_value_whole(sweep, cli_console):
    path, _ = sweep
    members = neurodyn.open_sweep(path).members
    cli._print_members(members, title=f"{path}: {members.sizes['member']} members")
    text = cli_console.file.getvalue()
    losses = [f"{v:.3g}" for v in members["final_loss"].values]
    assert_readable(text, ["0.001", "0.003", "not_converged", "steps_trained", "final_metric", *losses])
    assert set(members["status"].values) == {"not_converged"}


def test_info_at_80_columns(sweep):
    path, _ = sweep
    result = runner.invoke(cli.app, ["info", str(path)], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert_readable(result.stdout, ["0.001", "0.003", "not_converged", "g0", "0", "1", "2", "3"])


def test_members_beyond_the_shown_rows_are_counted_not_elided(sweep, cli_console):
    path, _ = sweep
    cli._print_members(neurodyn.open_sweep(path).members, title="members", max_rows=3)
    text = cli_console.file.getvalue()
    assert_readable(text, ["0", "1", "2"])
    assert "first 3 of 4 members shown" in text


def test_piped_progress_is_one_line_per_region(sweep):
    _, progress = sweep
    lines = progress.splitlines()
    assert "…" not in progress and "\r" not in progress and "\x1b" not in progress
    assert lines[0].startswith("g0: 4 members, 8 steps each; ")
    regions = [line for line in lines if " trained in " in line]
    assert [r.split(" trained in ")[0] for r in regions] == ["g0: members 0-1", "g0: members 2-3"]
    assert "4/4 members done" in regions[-1] and "elapsed " in regions[-1] and "ETA " in regions[-1]


def test_live_progress_bar_fits_80_columns(sweep):
    """A long sweep (millions of steps per member) on an 80-column terminal."""
    path, _ = sweep
    plan = neurodyn.run_sweep(SPEC, path, resume=True, progress=False).plan

    class LongSweep(SweepProgress):
        def _steps_per_member(self, g):
            return 2_000_000

    console = Console(width=80, file=io.StringIO(), force_terminal=True)
    with LongSweep(plan, console=console) as bar:
        for g in plan.groups:
            for region in g.regions():
                n = region.stop - region.start
                bar.updater(g, region)(np.full(n, 123_456), np.zeros(n, bool), np.ones(n, bool))
                bar.finish_region(g, region, types.SimpleNamespace(diverged=np.ones(n, bool), done=np.ones(n, bool)), 3.0)
    frames = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", console.file.getvalue()).replace("\r", "\n")
    assert "…" not in frames, frames
    assert "8M/8M steps" in frames and "diverged 4 · stopped 4" in frames, frames


def test_eta_after_a_resumed_checkpoint_counts_only_this_runs_steps(sweep, monkeypatch):
    """A region restored at 900 of 1000 steps per member, then one call of 50 steps in
    10 s: the rate is 50 steps per member per 10 s, so the remaining 50 take 10 s (not
    the 1 s that counting the restored steps as trained now would give)."""
    path, _ = sweep
    plan = neurodyn.run_sweep(SPEC, path, resume=True, progress=False).plan
    clock = [100.0]
    monkeypatch.setattr("neurodyn.sweep._progress.time.monotonic", lambda: clock[0])

    class OneRegion(SweepProgress):
        def _steps_per_member(self, g):
            return 1000

    console = Console(width=200, file=io.StringIO(), force_terminal=False)
    g = plan.groups[0]
    region = g.regions()[0]
    n = region.stop - region.start
    others = len(g.members) - n  # members of the group's other regions: not started
    with OneRegion(plan, console=console, live=False, every=0.0) as bar:
        update = bar.updater(g, region)
        update(np.full(n, 900), np.zeros(n, bool), np.zeros(n, bool), resumed=True)
        clock[0] += 10.0
        update(np.full(n, 950), np.zeros(n, bool), np.zeros(n, bool))
    line = [x for x in console.file.getvalue().splitlines() if "at 950/1000 steps" in x][-1]
    remaining_steps = n * 50 + others * 1000
    expected = 10.0 * remaining_steps / (n * 50)
    h, m, sec = (int(x) for x in line.split("ETA ")[1].split()[0].split(":"))
    assert h * 3600 + m * 60 + sec == pytest.approx(expected, abs=1), line
    assert "elapsed 0:00:10" in line


def test_dry_run_tables(tmp_path):
    (tmp_path / "spec.toml").write_text(SPEC_TOML)
    result = runner.invoke(cli.app, ["sweep", str(tmp_path / "spec.toml"), "--out", str(tmp_path / "o.zarr"),
                                     "--dry-run"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert_readable(result.stdout, ["0.001", "0.003", "g0", "g1", "regions × members", "2 × 2", "memory / region"],
                    words=["ctrnn", "H=6", "H=8", "flipflop,"])


@pytest.mark.parametrize("command", ["tasks", "models"])
def test_registry_tables(command):
    result = runner.invoke(cli.app, [command], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    registry = TASKS if command == "tasks" else MODELS
    params = [p for e in registry.entries().values() for p in e.user_params()]
    words = {w for p in params for w in (p.name, *p.doc.split(), *p.allowed().split())}
    assert_readable(result.stdout, [p.name for p in params], words=words)


@pytest.mark.parametrize("command", ["tasks", "models"])
def test_registry_json(command):
    result = runner.invoke(cli.app, [command, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    registry = TASKS if command == "tasks" else MODELS
    assert set(data) == set(registry.entries())
    for name, entry in data.items():
        assert set(entry) == {"summary", "parameters"}
        for p in entry["parameters"]:
            assert {"name", "kind", "required", "default", "allowed", "doc"} <= set(p), (name, p)
    first = "flipflop" if command == "tasks" else "ctrnn"
    assert first in data


def test_info_json(sweep):
    path, _ = sweep
    result = runner.invoke(cli.app, ["info", str(path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"store", "groups", "complete", "damaged", "version", "schema_version", "analyses", "members"} <= set(data)
    assert data["version"] == __version__ and data["groups"] == ["g0"] and data["complete"] is True
    assert [m["member"] for m in data["members"]] == [0, 1, 2, 3]
    assert sorted({m["learning_rate"] for m in data["members"]}) == [1e-3, 3e-3]
    assert {m["status"] for m in data["members"]} == {"not_converged"}
    assert data["members"][0]["params"]["model"]["hidden_size"] == 6


def test_analysis_tables(sweep, cli_console):
    path, _ = sweep
    fixed = na.fixed_points(path, n_initial=16, n_iters=20, max_points=8, progress=False, replace=True)
    cli._print_fixed_points(fixed)
    times = na.timescales(path, n_steps=200, burn_in=20, max_lag=20, fit_lag=10, progress=False, replace=True)
    cli._print_timescales(times)
    text = cli_console.file.getvalue()
    tau = [f"{v:.3g}" for v in times["g0"]["tau_net_mean"].values]
    assert_readable(text, ["0", "1", "2", "3", "g0", *tau])


def test_degeneracy_table_keeps_conditions_and_numbers_whole(sweep):
    path, _ = sweep
    ds = na.degeneracy(path, rank=3, dsa_restarts=1, perm_restarts=1, progress=False, replace=True)
    console = narrow()
    print_degeneracy(ds, console)
    text = console.file.getvalue()
    conditions = [str(c) for c in ds["condition"].values]
    assert len(conditions) == 2 and any("0.001" in c for c in conditions) and any("0.003" in c for c in conditions)
    means = [f"{float(v):.3g}" for n in ds.data_vars if n.endswith("_mean") for v in ds[n].values]
    assert "…" not in text, text
    for c in conditions:
        assert c in text.replace("\n", " ") or all(part in text for part in c.split()), (c, text)
    assert_readable(text, means)


def test_hmm_mechanism_table(cli_console):
    n = 3
    ds = xr.Dataset(
        {
            "global_radius": (("member", "scale"), np.array([[0.0123, 0.456, 1.78, 2.5, 3.25]] * n)),
            "global_collapsed": (("member", "scale"), np.zeros((n, 5), bool)),
            "residency_label_count": (("member", "label"), np.array([[120, 14, 3]] * n)),
            "residency_dwell": (("member", "label"), np.array([[12.5, 3.0, 7.25]] * n)),
            "linear_mean_unstable": (("member", "label"), np.array([[0.0, 1.5, 0.25]] * n)),
            "units_kick": (("member", "unit"), np.array([[3, 17, 22, 40, 41, 63]] * n)),
            "scaling_changes": (("member", "arm", "mu"), np.full((n, 2, 4), 0.125)),
            "scaling_baseline_changes": ("member", np.full(n, 0.0625)),
        },
        coords={"member": np.arange(n), "mu": [0.0, 0.5, 1.0, 2.0]},
    )
    cli._print_hmm_mechanism({"g0": ds})
    text = cli_console.file.getvalue()
    assert_readable(text, ["0.0123 0.456 1.78 2.5 3.25", "120/14/3", "0.25, 1.5", "3 17 22 40 41 63",
                           "0.0625, 0 -> 0.125/0.125"])


def test_a_table_wider_than_80_columns_is_split_with_the_key_repeated():
    console = narrow()
    header = ["member", *(f"hyperparameter_{i}" for i in range(6))]
    rows = [[str(m), *(f"{0.001 * (m + 1) + i:g}" for i in range(6))] for m in range(3)]
    print_table(console, header, rows, title="wide")
    text = console.file.getvalue()
    assert_readable(text, [c for row in rows for c in row])
    assert text.count("┃ member") >= 2
