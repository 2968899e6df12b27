import json
import os
import signal
import socket
import time

import pytest

from neurodyn.store import (
    LockedError,
    StaleLockError,
    coordinator_lock,
    create_store,
    live_locks,
    region_lock,
)

REGION = "members_000000-000002"


def _lock_file(store, region=REGION):
    return store / "_locks" / "groups" / "g0" / f"{region}.lock"


def _hold_lock_in_subprocess(build, store, **kwargs):
    """A second process that takes the lock, says so, and sleeps holding it."""
    proc = build.python(
        f"""
        import time
        from neurodyn.store import region_lock
        with region_lock({str(store)!r}, "g0", {REGION!r}, heartbeat_s=0.2):
            print("locked", flush=True)
            time.sleep(60)
        """,
        **kwargs,
    )
    line = proc.stdout.readline()
    assert line.strip() == "locked", proc.stderr.read()
    return proc


def _write_lock(store, *, host, pid, heartbeat, boot=None):
    path = _lock_file(store)
    path.parent.mkdir(parents=True, exist_ok=True)
    info = {"host": host, "pid": pid, "started": "then", "heartbeat": heartbeat, "token": "x"}
    if boot is not None:
        info["boot"] = boot
    path.write_text(json.dumps(info))


def test_lock_is_taken_refreshed_and_removed(store):
    with region_lock(store, "g0", REGION, heartbeat_s=0.05) as lock:
        info = json.loads(_lock_file(store).read_text())
        assert info["host"] == socket.gethostname() and info["pid"] == os.getpid()
        first = info["heartbeat"]
        time.sleep(0.3)
        assert json.loads(_lock_file(store).read_text())["heartbeat"] > first
        assert not lock.lost
    assert not _lock_file(store).exists()


def test_live_lock_of_another_process_is_refused_then_stale_when_it_dies(store, build):
    proc = _hold_lock_in_subprocess(build, store)
    try:
        with pytest.raises(LockedError, match=rf"being written by process {proc.pid} on host"):
            with region_lock(store, "g0", REGION):
                pass
        # break_lock never breaks a live lock
        with pytest.raises(LockedError, match="a live lock is never broken"):
            with region_lock(store, "g0", REGION, break_lock=True):
                pass
        assert live_locks(store) and str(proc.pid) in live_locks(store)[0]
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    # the killed writer left its lock behind; it ran on this machine and is gone, so
    # nobody can be writing under it: the next writer clears it without --break-lock
    left = json.loads(_lock_file(store).read_text())
    assert left["pid"] == proc.pid
    assert live_locks(store) == []
    with region_lock(store, "g0", REGION) as lock:
        held = json.loads(_lock_file(store).read_text())
        assert held["token"] == lock.info["token"] != left["token"]
        assert held["pid"] == os.getpid()
    assert not _lock_file(store).exists()


def test_dead_pid_of_another_boot_is_stale_not_cleared(store):
    # same host name, but another machine (or a reboot): its pid says nothing here
    dead = _dead_pid()
    _write_lock(store, host=socket.gethostname(), pid=dead, heartbeat=time.time() - 3600, boot="other-boot")
    with pytest.raises(StaleLockError, match=rf"process {dead} .* no longer running.*--break-lock"):
        with region_lock(store, "g0", REGION):
            pass
    with region_lock(store, "g0", REGION, break_lock=True):
        assert json.loads(_lock_file(store).read_text())["pid"] == os.getpid()


def test_dead_pid_of_this_machine_is_cleared_without_break_lock(store):
    dead = _dead_pid()
    _write_lock(store, host=socket.gethostname(), pid=dead, heartbeat=time.time())
    with region_lock(store, "g0", REGION):
        assert json.loads(_lock_file(store).read_text())["pid"] == os.getpid()


def _dead_pid() -> int:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_lock_of_another_host(store):
    _write_lock(store, host="node-17", pid=1234, heartbeat=time.time())
    with pytest.raises(LockedError, match="process 1234 on host 'node-17'"):
        with region_lock(store, "g0", REGION):
            pass
    _write_lock(store, host="node-17", pid=1234, heartbeat=time.time() - 3600)
    with pytest.raises(
        StaleLockError, match=r"silent for over 60 s.*--break-lock \(break_lock=True\)"
    ):
        with region_lock(store, "g0", REGION):
            pass
    with region_lock(store, "g0", REGION, break_lock=True):
        assert json.loads(_lock_file(store).read_text())["pid"] == os.getpid()


def test_alive_pid_with_an_old_heartbeat_is_stale(store):
    # pid 1 is alive but cannot be a neurodyn writer that still refreshes its lock
    _write_lock(store, host=socket.gethostname(), pid=1, heartbeat=time.time() - 3600)
    with pytest.raises(StaleLockError, match="a reused pid, or a hung process"):
        with region_lock(store, "g0", REGION):
            pass


def test_locks_of_other_regions_do_not_interfere(store):
    with region_lock(store, "g0", REGION):
        with region_lock(store, "g0", "members_000002-000004"):
            assert len(live_locks(store)) == 2


def test_a_broken_lock_is_reported_as_lost(store):
    with pytest.warns(RuntimeWarning, match="was broken by another process"):
        with region_lock(store, "g0", REGION, heartbeat_s=0.05) as lock:
            _write_lock(store, host="elsewhere", pid=9, heartbeat=time.time())
            time.sleep(0.3)
            assert lock.lost
    # the new holder's lock is left alone
    assert json.loads(_lock_file(store).read_text())["host"] == "elsewhere"


def test_overwrite_refuses_a_store_with_a_live_writer(store, build):
    _write_lock(store, host="node-17", pid=1234, heartbeat=time.time())
    with pytest.raises(LockedError, match="refuses to delete .* live writers hold locks"):
        create_store(store, attrs={}, members=build.members_table(), groups={}, overwrite=True)


def test_coordinator_lock(store):
    with coordinator_lock(store, heartbeat_s=0.05):
        assert (store / "_locks" / "coordinator.lock").is_file()
        with pytest.raises(
            LockedError, match=r"the coordinator of '.*run\.zarr' is being written by process"
        ):
            with coordinator_lock(store):
                pass
    assert not (store / "_locks" / "coordinator.lock").exists()
