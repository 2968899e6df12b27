"""Each finished experiment's `--quick` run, end to end in a subprocess (slow: minutes each)."""

import pathlib
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXPERIMENTS = {
    "flipflop_fixed_points": ["Pass criterion (CTRNN)", "Pass criterion (VanillaRNN)"],
    "hmm_emulation": [
        "Pass criterion (emission statistics)",
        "Pass criterion (matched distance)",
        "Pass criterion (zero input)",
        "Pass criterion (noise scaling)",
    ],
}


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_quick_run_writes_results(name, tmp_path):
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
