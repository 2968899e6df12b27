"""The benchmark harness: runs end to end on tiny sizes; its pieces compute the right numbers."""

import importlib.util
import json
import math
import pathlib
import statistics
import subprocess
import sys

import jax
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BENCH = ROOT / "experiments" / "benchmark"
RUN = BENCH / "run.py"
HAS_TORCH = importlib.util.find_spec("torch") is not None


@pytest.fixture
def bench(monkeypatch):
    """The harness's folder on sys.path, as run.py puts it."""
    monkeypatch.syspath_prepend(str(BENCH))


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    proc = subprocess.run(
        [sys.executable, str(RUN), "--smoke", "--out", str(out)],
        capture_output=True, text=True, timeout=1500, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return json.loads((out / "results.json").read_text()), (out / "results.md").read_text()


@pytest.mark.slow
def test_smoke_run_records_machine_and_versions(smoke):
    doc, md = smoke
    m = doc["machine"]
    assert m["cores"] >= 1 and m["backend"] == jax.default_backend() and m["device_kind"]
    assert m["cpu_model"]
    for package in ("jax", "jaxlib", "equinox"):
        assert doc["versions"][package] == importlib.metadata.version(package)
    assert (doc["versions"]["torch"] is not None) == HAS_TORCH
    assert doc["settings"]["smoke"] is True and doc["settings"]["repeats"] == 1
    assert "# neurodyn benchmark results" in md and "## (a) Training throughput" in md


@pytest.mark.slow
def test_smoke_run_covers_every_case(smoke):
    doc, _ = smoke
    prefixes = {name.split("/")[0] for name in doc["figures"]}
    assert {"compile", "roofline", "throughput", "store", "memory"} <= prefixes
    assert "fixed_points" in prefixes or "fixed_points" in doc["skipped"]
    assert all("error" not in why for why in doc["skipped"].values()), doc["skipped"]
    torch_figures = [n for n in doc["figures"] if "/torch" in n]
    assert bool(torch_figures) == HAS_TORCH
    if HAS_TORCH:
        for method in ("torch_leaky_loop", "torch_nn_rnn", "torch_stacked", "neurodyn_sequential"):
            assert f"throughput/H16/K2/{method}" in doc["figures"]


@pytest.mark.slow
def test_figures_are_medians_and_ratios_come_from_this_run(smoke):
    doc, _ = smoke
    for name, fig in doc["figures"].items():
        assert len(fig["repeats"]) == (5 if name == "roofline/matmul_peak" else 1), name
        assert fig["min"] <= fig["median"] <= fig["max"], name
        assert fig["median"] == statistics.median(fig["repeats"]), name
    assert doc["ratios"]
    for name, r in doc["ratios"].items():
        num, den = doc["figures"].get(r["numerator"]), doc["figures"].get(r["denominator"])
        assert num is not None and den is not None, name
        if "exponent" not in name and "fraction" not in name and "share" not in name:
            assert r["value"] == pytest.approx(num["median"] / den["median"], rel=1e-12), name


@pytest.mark.slow
def test_throughput_counts_network_steps(smoke):
    doc, _ = smoke
    fig = doc["figures"]["throughput/H16/K2/neurodyn_group"]
    p = fig["params"]
    assert p["networks_timed"] == 2 and p["steps_per_network"] >= 1
    assert math.isfinite(p["final_loss"]) and fig["median"] > 0


def test_cli_rejects_an_unknown_case():
    proc = subprocess.run([sys.executable, str(RUN), "--only", "nope"], capture_output=True, text=True)
    assert proc.returncode == 2 and "unknown case(s) ['nope']" in proc.stderr


def test_step_flops_by_hand(bench):
    from _roofline import step_flops

    # H=128, batch 64, T=100, 3 in, 3 out: 6400 * (6*128² + 4*128*3 + 6*3*128)
    assert step_flops(128, 64, 100) == 6400 * (98304 + 1536 + 2304) == 653_721_600


def test_checkpoint_chunk_is_the_largest_divisor_up_to_sqrt(bench):
    from _case_memory import chunk_for

    assert [chunk_for(t) for t in (100, 1000, 10000, 7, 20)] == [10, 25, 100, 1, 5]


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
def test_torch_flipflop_follows_the_task_definition(bench):
    import torch
    from _torch_refs import flipflop

    torch.manual_seed(0)
    inputs, targets, mask = (x.numpy() for x in flipflop((200,), 50, p=0.1))
    for trial in range(200):
        for bit in range(3):
            last = 0.0
            for t in range(50):
                pulse = inputs[trial, t, bit]
                if pulse != 0:
                    last = pulse
                assert targets[trial, t, bit] == last
                assert mask[trial, t, bit] == float(last != 0 and pulse == 0)


def test_store_timer_wraps_and_restores(bench, tmp_path):
    from _case_store import _Clock, timed_store

    from neurodyn import store

    original = store.write_members
    clock = _Clock()
    with timed_store(clock):
        assert store.write_members is not original
    assert store.write_members is original and clock.seconds == 0.0
