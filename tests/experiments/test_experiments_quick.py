"""Each finished experiment's `--quick` run, end to end in a subprocess (slow: minutes each)."""

import pathlib
import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

ROOT = pathlib.Path(__file__).resolve().parents[2]
_HMMS = ("2-state linear chain", "3-state fully connected")
EXPERIMENTS = {
    "flipflop_fixed_points": ["Pass criterion (CTRNN)", "Pass criterion (VanillaRNN)"],
    "hmm_emulation": [
        f"Pass criterion ({what}, {hmm})"
        for hmm in _HMMS
        for what in ("emission marginals", "emission transitions", "matched distance", "zero input", "noise scaling")
    ],
    "timescales_curriculum": [
        "Pass criterion (curriculum)",
        "Pass criterion (retention, multi-head)",
        "Pass criterion (forgetting, single-head)",
        "Pass criterion (τ_net rises with N, single-head)",
        "Pass criterion (learned τ does not grow, single-head)",
        "Pass criterion (τ_net rises with N, multi-head)",
        "Pass criterion (learned τ does not grow, multi-head)",
    ],
}


def _quick(name, tmp_path) -> str:
    script = ROOT / "experiments" / name / "run.py"
    done = subprocess.run(
        [sys.executable, str(script), "--quick", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=1200, cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    results = (tmp_path / "results.md").read_text()
    assert "QUICK run" in results
    for line in EXPERIMENTS[name]:
        assert line in results
    # every pass-criterion line carries a measured verdict
    verdicts = [ln for ln in results.splitlines() if ln.startswith("- Pass criterion")]
    assert len(verdicts) == len(EXPERIMENTS[name])
    assert all(ln.rstrip().endswith(("PASS", "FAIL")) for ln in verdicts)
    assert list(tmp_path.glob("*.png"))
    return results


def _table(results: str, header_start: str, after: str = "") -> list[list[str]]:
    """The rows of the first markdown table whose header starts with `header_start`
    (after the text `after`), as lists of stripped cells."""
    lines = results[results.index(after):].splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith(header_start))
    rows = []
    for ln in lines[start + 2:]:
        if not ln.startswith("|"):
            break
        rows.append([c.strip() for c in ln.strip().strip("|").split("|")])
    return rows


def test_quick_flipflop(tmp_path):
    _quick("flipflop_fixed_points", tmp_path)


def test_quick_hmm_emulation(tmp_path):
    results = _quick("hmm_emulation", tmp_path)
    # The analytic marginals printed are those of the two HMMs (uniform start, n_time 30).
    assert "Analytic emission marginals: [0.495, 0.010, 0.495]" in results
    assert "Analytic emission marginals: [0.333, 0.333, 0.333]" in results
    # Exact invariance of a bias-free ReLU network from h0 = 0: x2 and x0.5 are bit for bit.
    for hmm in _HMMS:
        line = next(ln for ln in results.splitlines() if ln.startswith(f"- Pass criterion (noise scaling, {hmm})"))
        assert line.endswith("2/2 -> PASS")
    for hmm in _HMMS:
        rows = _table(results, "| member | seed | final loss", after=f"## {hmm} HMM")
        assert len(rows) == 2
        for row in rows:
            marginals = [float(v) for v in row[3].strip("[]").split(",")]
            assert sum(marginals) == pytest.approx(1.0, abs=2e-3)
            assert float(row[4]) == pytest.approx(max(abs(m - e) for m, e in zip(marginals, _exact(results, hmm))), abs=2e-3)
            assert float(row[7]) > 0 and float(row[8]) > 0  # Sinkhorn divergences are positive
        zero = _table(results, "| member | fixed points", after=f"## {hmm} HMM")
        for row in zero:
            # the origin is always a fixed point of a bias-free ReLU network at zero input
            assert int(row[1]) >= 1


def _exact(results: str, hmm: str) -> list[float]:
    section = results[results.index(f"## {hmm} HMM"):]
    found = re.search(r"Analytic emission marginals: \[([^\]]*)\]", section)
    return [float(v) for v in found.group(1).split(",")]


def test_quick_timescales_curriculum(tmp_path):
    results = _quick("timescales_curriculum", tmp_path)
    for name in ("single_head", "multi_head"):
        rows = _table(results, "| seed | largest N", after=f"## {name}")
        assert len(rows) == 2
        for row in rows:
            largest = int(row[1])
            assert 2 <= largest <= 4  # the quick cap
            reached = dict(item.split(":") for item in row[3].split(", "))
            # N = 2 at epoch 0, every N up to the largest reached, epochs increasing
            assert reached["N2"] == "0"
            assert sorted(int(k[1:]) for k in reached) == list(range(2, largest + 1))
            epochs = [int(reached[f"N{n}"]) for n in range(2, largest + 1)]
            assert epochs == sorted(epochs)
            accuracy = {k: float(v.rstrip("%")) for k, v in (item.split(":") for item in row[4].split(", "))}
            assert set(accuracy) == {"N2", "N3", "N4"}
            assert all(0.0 <= a <= 100.0 for a in accuracy.values())
            if name == "multi_head":
                # N = 2 is trained all along on its own head and is learnt within the first epochs
                assert accuracy["N2"] >= 95.0
        taus = _table(results, "| seed | N | step", after=f"## {name}")
        for row in taus:
            learned = float(row[3])
            assert learned >= 1.0  # τ is clamped at >= 1
            tau_net = float(row[4].split(" ")[0])
            assert tau_net > 1.0  # units with τ_net <= 1 are excluded from the mean


DEGENERACY_STUDIES = {"channels": "n_bits", "width": "hidden_size", "l1": "l1", "gamma": "gamma",
                      "delay": "delay_max", "aux": "aux", "nuclear": "nuclear", "width_dd": "hidden_size",
                      "l1_dd": "l1"}  # --quick runs gamma_seeds and gamma_30 as gamma: not again
# the pass-criterion lines of experiments/degeneracy (lowest vs highest condition)
DEGENERACY_CRITERIA = [
    "Pass criterion (channels, dynamics down)",
    "Pass criterion (channels, weights up)",
    "Pass criterion (width, behaviour down)",
    "Pass criterion (width, dynamics down)",
    "Pass criterion (width, weights down)",
    "Pass criterion (l1, behaviour down)",
    "Pass criterion (l1, dynamics down)",
    "Pass criterion (l1, weights down)",
    "Pass criterion (gamma, weight_change up)",
    "Pass criterion (gamma, kernel_alignment down)",
    "Pass criterion (delay, dynamics down)",
    "Pass criterion (delay, weights up)",
    "Pass criterion (aux, dynamics down)",
    "Pass criterion (aux, weights up)",
    "Pass criterion (nuclear, behaviour down)",
    "Pass criterion (nuclear, dynamics down)",
    "Pass criterion (nuclear, weights down)",
    "Pass criterion (width_dd, behaviour down)",
    "Pass criterion (width_dd, dynamics down)",
    "Pass criterion (width_dd, weights down)",
    "Pass criterion (l1_dd, behaviour down)",
    "Pass criterion (l1_dd, dynamics down)",
    "Pass criterion (l1_dd, weights down)",
]


def test_degeneracy_quick_run(tmp_path):
    """experiments/degeneracy --quick: every study trained and analysed, numbers in range."""
    import re

    import numpy as np

    import neurodyn

    script = ROOT / "experiments" / "degeneracy" / "run.py"
    done = subprocess.run(
        [sys.executable, str(script), "--quick", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=1800, cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    results = (tmp_path / "results.md").read_text()
    assert "QUICK run" in results
    verdicts = [ln for ln in results.splitlines() if ln.startswith("- Pass criterion")]
    assert [ln.split(":")[0] for ln in verdicts] == ["- " + c for c in DEGENERACY_CRITERIA]
    for ln in verdicts:
        assert ln.endswith(("PASS", "FAIL"))
        p = float(re.search(r"one-sided Mann-Whitney p = ([0-9.e+-]+)", ln).group(1))
        # 4 vs 4 seeds: the smallest one-sided p is 1/70; PASS exactly when p < 0.05
        assert 1 / 70 - 1e-3 <= p <= 1.0
        assert ln.endswith("PASS") == (p < 0.05)
    assert (tmp_path / "trends.png").stat().st_size > 0
    # every study reports the DSA null (trial halves of one network) per condition
    nulls = [ln for ln in results.splitlines() if ln.startswith("| median dsa_null")]
    assert len(nulls) == len(DEGENERACY_STUDIES)
    for ln in nulls:
        values = [float(v) for v in ln.strip("| ").split(" | ")[1:]]
        assert len(values) == 2 and all(0 < v < 10 for v in values), ln
    # the delayed-discrimination studies name their OOD variant
    assert results.count("| median OOD loss (delays x 2) |") == 4  # delay, aux, width_dd, l1_dd
    for name, axis in DEGENERACY_STUDIES.items():
        assert (tmp_path / name / "degeneracy.png").stat().st_size > 0
        sweep = neurodyn.open_sweep(tmp_path / f"{name}.zarr")
        assert sweep.complete
        ds = sweep.analysis("degeneracy")
        assert ds.sizes["member"] == 8 and ds.sizes["condition"] == 2  # 2 end conditions x 4 seeds
        codes = np.asarray(ds["member_condition"].values)
        assert sorted(np.bincount(codes).tolist()) == [4, 4]
        same = codes[:, None] == codes[None, :]
        off = same & ~np.eye(len(codes), dtype=bool)
        for key in ("dsa_distance", "weight_distance", "weight_distance_normalised", "output_distance"):
            m = np.asarray(ds[key].values)
            assert np.all(np.isfinite(m[off])) and np.all(m[off] > 0), key  # every within-condition pair
            assert np.all(np.isnan(m[~same])), key  # pairs across conditions are not compared
            np.testing.assert_allclose(m, m.T, equal_nan=True)
        ood = np.asarray(ds["ood_loss"].values)
        assert np.all(np.isfinite(ood)) and np.all(ood >= 0)
        assert np.all(np.isfinite(ds["sigma_ood"].values)) and np.all(ds["sigma_ood"].values >= 0)
        # the normalised weight distance is the raw one over n (equal widths within a condition)
        n = np.asarray(ds["hidden_size"].values) if "hidden_size" in ds.coords else np.full(len(codes), 16)
        np.testing.assert_allclose(np.asarray(ds["weight_distance_normalised"].values)[off],
                                   (np.asarray(ds["weight_distance"].values) / n[:, None])[off], rtol=1e-5)
        if name.startswith("gamma"):
            change = np.asarray(ds["weight_change"].values)
            align = np.asarray(ds["kernel_alignment"].values)
            assert np.all(change > 0)
            # cosine of two positive semi-definite matrices: in [0, 1]
            assert np.all((align >= 0) & (align <= 1 + 1e-5))
