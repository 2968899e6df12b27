"""`neurodyn report`: one static HTML page per store, checked in a real headless Chromium."""

import base64
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import neurodyn
from neurodyn.reports import GENERATOR
from neurodyn.store._html import _label, members_table

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")

SPEC = {
    "task": {"name": "flipflop", "n_bits": 2, "n_time": 12, "p": 0.1, "pulse_width": 1},
    "model": {"name": "ctrnn", "hidden_size": 8, "dt": 0.2},
    "train": {"n_steps": 8, "eval_every": 4, "batch_size": 4, "eval_batch_size": 4, "learning_rate": [1e-3, 1e-2]},
    "sweep": {"seeds": 2, "trajectories": 4, "name": "lr <scan>"},
}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    import neurodyn.analysis as na

    path = tmp_path_factory.mktemp("report") / "run.zarr"
    sweep = neurodyn.run_sweep(SPEC, path, progress=False).open()
    na.timescales(sweep, n_steps=300, burn_in=20, max_lag=12, fit_lag=8, progress=False)
    return neurodyn.open_sweep(path)


def _images(page: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', page)]


def test_the_report_holds_members_curves_analyses_and_spec(store, tmp_path):
    out = neurodyn.report(store, tmp_path / "r.html")
    page = out.read_text()
    assert f'content="{GENERATOR}"' in page and "<script" not in page  # opens anywhere, nothing runs
    images = _images(page)
    assert len(images) == 2  # the group's training curves, the timescales figure
    assert all(img[:8] == b"\x89PNG\r\n\x1a\n" and len(img) > 5_000 for img in images)
    assert page.count('<tr class="member status-') == 4
    headers, rows, statuses = members_table(store)
    assert headers[:3] == ["member", "learning_rate", "seed"] and statuses == ["ok"] * 4
    assert [r[1] for r in rows] == ["0.001", "0.001", "0.01", "0.01"]
    assert "Analysis: timescales" in page and "&quot;n_steps&quot;: 300" in page  # its settings
    assert "[train]" in page  # the spec
    # figures name members by their hyperparameters, not only by number
    assert _label(store.members, headers[1:3], 3) == "member 3 (learning_rate=0.01, seed=1)"
    assert store._repr_html_().count('<tr class="member') == 4
    # the spec's [sweep] name labels the page and the notebook view (escaped)
    assert "<title>neurodyn report: lr &lt;scan&gt; (run.zarr)</title>" in page
    assert "<b>lr &lt;scan&gt;</b> (" in page and "<b>lr &lt;scan&gt;</b> (" in store._repr_html_()


def test_the_report_never_replaces_a_file_it_did_not_write(store, tmp_path):
    mine = tmp_path / "notes.html"
    mine.write_text("<html>my notes</html>")
    with pytest.raises(FileExistsError, match="is not a neurodyn report.*--overwrite"):
        neurodyn.report(store, mine)
    assert mine.read_text() == "<html>my notes</html>"
    first = neurodyn.report(store, tmp_path / "again.html")
    assert neurodyn.report(store, first) == first  # an earlier report is replaced
    assert neurodyn.report(store, mine, overwrite=True) == mine and GENERATOR in mine.read_text()
    with pytest.raises(IsADirectoryError, match="is a directory"):
        neurodyn.report(store, tmp_path)


def test_the_cli_writes_the_report_beside_the_store(store):
    result = subprocess.run([sys.executable, "-m", "neurodyn.cli", "report", str(store.path)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"wrote {store.path.with_suffix('.html')}" in result.stdout.replace("\n", "")
    bad = subprocess.run([sys.executable, "-m", "neurodyn.cli", "report", str(store.path / "nothing")],
                         capture_output=True, text=True, timeout=600)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="needs a headless Chromium (Debian: apt install chromium)")
def test_the_report_renders_in_headless_chromium(store, tmp_path):
    """Loaded in Chromium, every image decodes (naturalWidth > 0) and the members table
    has one row per member; a screenshot is kept beside the page (never in git)."""
    page = neurodyn.report(store, tmp_path / "r.html").read_text()
    probe = page.replace("</body>", """<script>window.addEventListener("load", () => {
      const imgs = [...document.images];
      document.body.setAttribute("data-images", imgs.length);
      document.body.setAttribute("data-broken", imgs.filter(i => !i.complete || i.naturalWidth === 0).length);
      document.body.setAttribute("data-rows", document.querySelectorAll("table.members tbody tr").length);
    });</script></body>""")
    probed = tmp_path / "probe.html"
    probed.write_text(probe)
    args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000"]
    dom = subprocess.run([*args, "--dump-dom", probed.as_uri()], capture_output=True, text=True, timeout=120).stdout
    body = re.search(r"<body([^>]*)>", dom).group(1)
    got = {k: int(v) for k, v in re.findall(r'data-(images|broken|rows)="(\d+)"', body)}
    assert got == {"images": 2, "broken": 0, "rows": int(np.asarray(store.members["member"]).size)}
    subprocess.run([*args, f"--screenshot={tmp_path / 'report.png'}", "--window-size=1280,2400", probed.as_uri()],
                   capture_output=True, timeout=120)
    assert (tmp_path / "report.png").stat().st_size > 10_000
