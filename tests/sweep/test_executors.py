"""Sweeps split into submitit jobs (real subprocesses) write the store of a one-process sweep."""

import json

import numpy as np
import pytest
from sweep_helpers import CACHE_ENV, SMALL, assert_stores_equal

import neurodyn
from neurodyn import store
from neurodyn.sweep._executors import (
    JobsFailedError,
    batches,
    check_executor,
    executor_parameters,
    timeout_minutes,
)


def _run(out, monkeypatch, **kwargs):
    for k, v in CACHE_ENV.items():
        monkeypatch.setenv(k, v)  # the job subprocesses inherit this environment
    return neurodyn.run_sweep(SMALL, out, progress=False, executor="submitit-local",
                              executor_options={"jobs": 3, "poll_s": 0.5}, **kwargs)


@pytest.mark.slow  # ~70 s on 2 shared cores: three JAX subprocesses
def test_three_jobs_give_the_store_of_one_process(tmp_path, monkeypatch, reference_store):
    out = tmp_path / "jobs.zarr"
    result = _run(out, monkeypatch)
    assert [len(j.task.region_names()) for j in result.jobs] == [2, 1, 1]
    assert store.open_store(out).complete
    assert_stores_equal(out, reference_store)
    reports = sorted((out / "_jobs").glob("*.json"))
    assert len(reports) == 3
    statuses = {}
    for p in reports:
        report = json.loads(p.read_text())
        assert report["state"] == "finished"
        statuses.update(report["statuses"])
    assert sorted(int(i) for i in statuses) == list(range(8))


@pytest.mark.slow  # ~100 s: two rounds of job subprocesses
def test_a_failed_job_is_reported_and_resume_retrains_only_its_region(tmp_path, monkeypatch, reference_store):
    out = tmp_path / "failed.zarr"
    # the job holding two regions is killed after its first; the other two finish
    monkeypatch.setenv("NEURODYN_CRASH_AT", "job_between_regions")
    with pytest.raises(JobsFailedError, match=r"1 of 3 job\(s\) failed(.|\n)*unfinished regions \['g0/members_000002-000004'\](.|\n)*--resume"):
        _run(out, monkeypatch)
    assert not store.open_store(out).complete
    status = np.asarray(store.read_members(out)["status"].values).tolist()
    assert status[2:4] == ["pending", "pending"] and "pending" not in status[:2] + status[4:]
    monkeypatch.delenv("NEURODYN_CRASH_AT")
    result = _run(out, monkeypatch, resume=True)
    assert [j.task.region_names() for j in result.jobs] == [["g0/members_000002-000004"]]
    assert_stores_equal(out, reference_store)


def test_batches_and_options():
    todo = [("g", slice(i, i + 2)) for i in range(0, 8, 2)]
    assert [len(b) for b in batches(todo, {})] == [1, 1, 1, 1]
    assert [len(b) for b in batches(todo, {"jobs": 3})] == [2, 1, 1]
    assert [len(b) for b in batches(todo, {"members_per_job": 5})] == [2, 2]
    assert timeout_minutes("1-02:30:00") == 1590 and timeout_minutes(90) == 90
    params = executor_parameters("slurm", {"partition": "gpu", "time": "02:00:00", "gpus_per_job": 1})
    assert params == {"timeout_min": 120, "gpus_per_node": 1, "slurm_partition": "gpu"}


@pytest.mark.parametrize(
    "executor, options, match",
    [
        ("pbs", {}, r"executor='pbs' is not one of"),
        ("slurm", {"queue": "x"}, r"executor_options \['queue'\] are not known"),
        ("local", {"jobs": 2}, r"apply to the submitit executors only"),
        ("slurm", {"jobs": 0}, r"jobs=0 must be an integer >= 1"),
        ("slurm", {"jobs": 2, "members_per_job": 4}, r"at most one of"),
        ("slurm", {"time": "2h"}, r"time='2h' must be minutes"),
    ],
)
def test_executor_errors(executor, options, match):
    with pytest.raises(ValueError, match=match):
        check_executor(executor, options)


def test_cli_passes_executor_options(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    import neurodyn.sweep
    from neurodyn.cli import app

    seen = {}

    def fake_run_sweep(spec, out, **kwargs):
        seen.update(kwargs)
        raise JobsFailedError("1 of 2 job(s) failed")

    monkeypatch.setattr(neurodyn.sweep, "run_sweep", fake_run_sweep)
    args = ["sweep", "spec.toml", "--out", str(tmp_path / "s.zarr"), "--executor", "slurm", "--partition", "gpu",
            "--time", "90", "--gpus-per-job", "1", "--members-per-job", "64"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1 and "jobs failed" in result.output
    assert seen["executor"] == "slurm"
    assert seen["executor_options"] == {"partition": "gpu", "time": 90, "gpus_per_job": 1, "members_per_job": 64}


def test_a_multi_process_jax_is_refused_with_the_fix(monkeypatch, tmp_path):
    import jax

    monkeypatch.setattr(jax, "process_count", lambda: 2)
    with pytest.raises(ValueError, match=r"jax.distributed joined 2 processes(.|\n)*executor='slurm'"):
        neurodyn.run_sweep(SMALL, tmp_path / "multi.zarr", progress=False)
