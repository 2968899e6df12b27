"""Kill a sweep at named points, resume it, and require the store of an uninterrupted run."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import zarr
from sweep_helpers import CACHE_ENV, SMALL, assert_stores_equal, run_in_subprocess

import neurodyn
from neurodyn import store


def _incomplete(path) -> bool:
    s = store.open_store(path)
    return not s.complete


@pytest.mark.parametrize(
    "point",
    [
        "checkpoint_write:2",  # killed while writing the second checkpoint
        pytest.param("chunk_write", marks=pytest.mark.slow),  # between two writes of a region
        pytest.param("before_done_marker", marks=pytest.mark.slow),  # data written, marker not
        pytest.param("between_groups", marks=pytest.mark.slow),  # first group done, second not begun
    ],
)
def test_kill_then_resume_equals_uninterrupted(point, tmp_path, reference_store):
    out = tmp_path / "run.zarr"
    killed = run_in_subprocess(SMALL, out, crash_at=point, env=CACHE_ENV)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert _incomplete(out)
    status = np.asarray(store.read_members(out)["status"].values)
    assert "pending" in set(status.tolist())
    resumed = run_in_subprocess(SMALL, out, extra=", resume=True", env=CACHE_ENV)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert not _incomplete(out)
    assert_stores_equal(out, reference_store)


@pytest.mark.slow
@pytest.mark.parametrize("delay", [4.0, 9.0, 15.0])
def test_kill_at_a_random_moment_then_resume(delay, tmp_path, reference_store):
    out = tmp_path / "run.zarr"
    code = (
        "import json, neurodyn; "
        f"neurodyn.run_sweep(json.loads({json.dumps(json.dumps(SMALL))}), {str(out)!r}, progress=False)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, **CACHE_ENV})
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if out.exists():
        resumed = run_in_subprocess(SMALL, out, extra=", resume=True", env=CACHE_ENV)
    else:  # killed before the store existed: start again
        resumed = run_in_subprocess(SMALL, out, env=CACHE_ENV)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert_stores_equal(out, reference_store)


def test_resume_of_a_finished_sweep_changes_nothing(tmp_path, reference_store):
    import shutil

    out = tmp_path / "copy.zarr"
    shutil.copytree(reference_store, out)
    neurodyn.run_sweep(SMALL, out, resume=True, progress=False)
    assert_stores_equal(out, reference_store)


@pytest.mark.slow  # a second sweep grown from the reference
def test_growing_a_finished_sweep_adds_members_only(tmp_path, reference_store):
    import shutil

    out = tmp_path / "grown.zarr"
    shutil.copytree(reference_store, out)
    grown = json.loads(json.dumps(SMALL))
    grown["sweep"]["seeds"] = 3
    neurodyn.run_sweep(grown, out, resume=True, progress=False)
    before = store.open_store(reference_store)
    after = store.open_store(out)
    for g in before.groups:  # old groups untouched, bit for bit
        a = store.read_group(reference_store, g).load()
        b = store.read_group(out, g).load()
        for name in a.data_vars:
            np.testing.assert_array_equal(np.asarray(a[name].values), np.asarray(b[name].values))
    members = store.read_members(out)
    assert members.sizes["member"] == 12
    assert set(np.asarray(members["seed"].values[8:]).tolist()) == {2}
    assert set(np.asarray(members["status"].values).tolist()) == {"ok"}
    assert len(after.groups) == len(before.groups) + 2
    assert after.complete


def test_existing_store_is_refused_without_a_flag(tmp_path, reference_store):
    with pytest.raises(FileExistsError, match="--resume.*--overwrite|--overwrite.*--resume"):
        neurodyn.run_sweep(SMALL, reference_store, progress=False)


def test_live_writer_is_refused(tmp_path, reference_store):
    import shutil

    out = tmp_path / "live.zarr"
    shutil.copytree(reference_store, out)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time, neurodyn.store as s\n"
            f"with s.coordinator_lock({str(out)!r}):\n"
            "    print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(store.LockedError, match=r"being written by process %d" % holder.pid):
            neurodyn.run_sweep(SMALL, out, resume=True, progress=False)
    finally:
        holder.kill()
        holder.wait()


def test_lock_of_a_killed_coordinator_is_cleared_on_plain_resume(tmp_path, reference_store):
    import shutil

    out = tmp_path / "stale.zarr"
    shutil.copytree(reference_store, out)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, signal, neurodyn.store as s\n"
            f"lock = s.coordinator_lock({str(out)!r}); lock.__enter__()\n"
            "os.kill(os.getpid(), signal.SIGKILL)",
        ]
    )
    holder.wait()
    assert (out / "_locks" / "coordinator.lock").is_file()
    neurodyn.run_sweep(SMALL, out, resume=True, progress=False)
    assert not (out / "_locks" / "coordinator.lock").exists()
    assert_stores_equal(out, reference_store)


def test_stale_lock_of_another_host_is_reported_and_can_be_broken(tmp_path, reference_store):
    import shutil

    out = tmp_path / "stale.zarr"
    shutil.copytree(reference_store, out)
    lock = out / "_locks" / "coordinator.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(json.dumps({"host": "node-9", "pid": 77, "started": "then", "heartbeat": time.time() - 3600, "token": "t"}))
    with pytest.raises(store.StaleLockError, match="process 77 on host 'node-9'.*--break-lock"):
        neurodyn.run_sweep(SMALL, out, resume=True, progress=False)
    neurodyn.run_sweep(SMALL, out, resume=True, break_lock=True, progress=False)
    assert_stores_equal(out, reference_store)


def test_foreign_and_newer_stores_are_refused(tmp_path, reference_store):
    import shutil

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "data.txt").write_text("not a store")
    with pytest.raises(ValueError, match="is not a neurodyn store"):
        neurodyn.open_sweep(foreign)
    newer = tmp_path / "newer.zarr"
    shutil.copytree(reference_store, newer)
    root = zarr.open_group(str(newer), mode="r+")
    attrs = dict(root.attrs["neurodyn"])
    attrs["schema_version"] = 999
    root.attrs["neurodyn"] = attrs
    with pytest.raises(ValueError, match="newer"):
        neurodyn.open_sweep(newer)
    with pytest.raises(FileNotFoundError):
        neurodyn.open_sweep(tmp_path / "nothing.zarr")
