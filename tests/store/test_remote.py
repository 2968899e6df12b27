"""Stores behind fsspec URLs: a sweep into `memory://` equals one into a local directory,
resumes after a crash, opens, takes an analysis; `file://` URLs; unknown protocols."""

import json
import shutil
import subprocess
import types
import uuid
from pathlib import Path

import fsspec
import numpy as np
import pytest
import xarray as xr

import neurodyn
import neurodyn.analysis as na
from neurodyn import _faults, store
from neurodyn.store._cf import describe
from neurodyn.store._remote import RemotePath

#: one group of two members, one member per region, two compiled calls per region
#: (a checkpoint after the first of each)
SPEC = {
    "task": {"name": "flipflop", "n_bits": 1, "n_time": 8, "p": 0.1},
    "model": {"name": "ctrnn", "hidden_size": 4, "dt": 0.2},
    "train": {
        "learning_rate": [3e-3, 1e-2],
        "n_steps": 8,
        "eval_every": 4,
        "batch_size": 4,
        "eval_batch_size": 4,
    },
    "sweep": {"seeds": 1, "members_per_chunk": 1, "trajectories": 2, "checkpoint_every": 1},
}
REGIONS = ["members_000000-000001", "members_000001-000002"]
TIMESCALES = dict(
    n_steps=64, burn_in=8, max_lag=8, fit_lag=5, network=False, members_per_chunk=2, progress=False
)

MEMORY = fsspec.filesystem("memory")


def _memory_url(name: str) -> str:
    return f"memory://neurodyn-test-{uuid.uuid4().hex[:8]}/{name}"


def _keys(url: str) -> list[str]:
    base = MEMORY._strip_protocol(url)
    return sorted(k[len(base) + 1 :] for k in MEMORY.store if k.startswith(base + "/"))


def _drop(url: str) -> None:
    bucket = MEMORY._strip_protocol(url).rsplit("/", 1)[0]
    if MEMORY.exists(bucket):
        MEMORY.rm(bucket, recursive=True)


def assert_same_sweep(a, b):
    """Same members table, same groups, every group variable equal (NaN where NaN)."""
    xr.testing.assert_identical(store.read_members(a), store.read_members(b))
    sa, sb = store.open_store(a), store.open_store(b)
    assert sa.groups == sb.groups == ["g0"]
    for g in sa.groups:
        x, y = store.read_group(a, g).load(), store.read_group(b, g).load()
        assert sorted(x.variables) == sorted(y.variables)
        for name in x.variables:
            np.testing.assert_array_equal(x[name].values, y[name].values, err_msg=f"{g}/{name}")
        assert x.attrs == y.attrs


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "s.zarr"
    neurodyn.run_sweep(SPEC, out, progress=False)
    return out


@pytest.fixture(scope="module")
def memory_sweep():
    url = _memory_url("s.zarr")
    result = neurodyn.run_sweep(SPEC, url, progress=False)
    yield url, result
    _drop(url)


def test_a_sweep_into_memory_equals_one_into_a_directory(local_sweep, memory_sweep):
    url, result = memory_sweep
    assert isinstance(result.path, RemotePath)
    assert str(result.path) == "memory:///" + url[len("memory://") :]
    assert_same_sweep(local_sweep, url)
    assert store.open_store(url).complete
    keys = _keys(url)
    assert [k for k in keys if k.startswith("_regions/")] == [
        f"_regions/groups/g0/{r}.done" for r in REGIONS
    ]
    assert store.done_regions(url, "g0")[REGIONS[1]]["members"] == [1, 2]
    # bookkeeping that must be gone once the sweep is done
    leftovers = ("_locks/", "_checkpoints/", "_staging/", ".neurodyn-creating", ".partial")
    assert [k for k in keys if any(s in k for s in leftovers)] == []


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


class Killed(BaseException):
    """What the simulated SIGKILL raises, after the store's state was saved."""


def test_resume_after_a_crash_on_memory(local_sweep, monkeypatch):
    url = _memory_url("crash.zarr")
    base = MEMORY._strip_protocol(url)
    at_kill = {}

    def kill(pid, sig):
        # the store exactly as a SIGKILL would leave it (no `finally` has run yet)
        at_kill.update({k: v.getvalue() for k, v in MEMORY.store.items() if k.startswith(base)})
        raise Killed

    fake_os = types.SimpleNamespace(
        environ={"NEURODYN_CRASH_AT": "after_checkpoint:2"}, getpid=lambda: 0, kill=kill
    )
    monkeypatch.setattr(_faults, "os", fake_os)
    monkeypatch.setattr(_faults, "_hits", {})
    with pytest.raises(Killed):  # region 0 done, region 1 killed after its first checkpoint
        neurodyn.run_sweep(SPEC, url, progress=False)
    monkeypatch.undo()
    try:
        for key in [k for k in MEMORY.store if k.startswith(base)]:
            del MEMORY.store[key]
        for key, value in at_kill.items():
            MEMORY.pipe_file(key, value)
        assert not store.open_store(url).complete
        assert list(store.done_regions(url, "g0")) == [REGIONS[0]]
        assert store.read_checkpoint_meta(url, "g0", REGIONS[1]) == {"calls_done": 1}
        assert store.read_members(url)["status"].values.tolist() == ["ok", "pending"]
        # the killed process's locks, as if it had run on another host: stale, and
        # only --break-lock clears them (a dead pid of this machine would be cleared)
        locks = [k for k in at_kill if "/_locks/" in k]
        assert sorted(k[len(base) + 1 :] for k in locks) == [
            "_locks/coordinator.lock",
            f"_locks/groups/g0/{REGIONS[1]}.lock",
        ]
        dead = _dead_pid()
        for key in locks:
            info = json.loads(MEMORY.cat_file(key))
            stale = {**info, "pid": dead, "host": "node-elsewhere", "heartbeat": info["heartbeat"] - 3600}
            MEMORY.pipe_file(key, json.dumps(stale).encode())
        with pytest.raises(store.StaleLockError, match="has a stale lock left by process"):
            neurodyn.run_sweep(SPEC, url, resume=True, progress=False)
        neurodyn.run_sweep(SPEC, url, resume=True, break_lock=True, progress=False)
        assert store.open_store(url).complete
        assert_same_sweep(local_sweep, url)
        assert [k for k in _keys(url) if k.startswith(("_locks/", "_checkpoints/"))] == []
    finally:
        _drop(url)


def test_open_sweep_and_an_analysis_on_memory(local_sweep, memory_sweep):
    url, _ = memory_sweep
    sweep = neurodyn.open_sweep(url)
    assert sweep.complete and sweep.groups == ["g0"]
    local = neurodyn.open_sweep(local_sweep)
    np.testing.assert_array_equal(
        np.asarray(sweep.model(1).W_rec), np.asarray(local.model(1).W_rec)
    )
    ours = na.timescales(url, **TIMESCALES)["g0"]
    theirs = na.timescales(local_sweep, **TIMESCALES)["g0"]
    for name in theirs.data_vars:
        np.testing.assert_array_equal(ours[name].values, theirs[name].values, err_msg=name)
    assert sweep.analyses == ["timescales"]
    stored = sweep.analysis("timescales").load()
    np.testing.assert_array_equal(stored["autocorrelation"].values, ours["autocorrelation"].values)
    # replacing a result publishes the new copy whole and leaves nothing staged
    store.write_dataset(
        url, "analyses/timescales.g0", stored.assign(tau_net=stored["tau_net"] * 0 + 7.0)
    )
    np.testing.assert_array_equal(
        sweep.analysis("timescales")["tau_net"].values, np.full((2, 4), 7.0)
    )
    assert [k for k in _keys(url) if k.startswith("_staging/")] == []


def test_a_file_url_is_a_local_store(local_sweep, tmp_path):
    copy = Path(shutil.copytree(local_sweep, tmp_path / "copy.zarr"))
    result = neurodyn.run_sweep(SPEC, f"file://{copy}", resume=True, progress=False)
    assert result.path == copy
    assert store.open_store(f"file://{copy}").path == copy
    assert_same_sweep(local_sweep, f"file://{copy}")
    xr.testing.assert_identical(
        neurodyn.open_sweep(f"file://{copy}").members, store.read_members(copy)
    )


def test_an_unknown_protocol_is_refused():
    with pytest.raises(
        ValueError,
        match=r"Store path 'nosuchfs://bucket/run\.zarr' uses the protocol 'nosuchfs', which "
        r"fsspec does not know\.( Did you mean '\w+'\?)? Give a local directory such as 'run\.zarr', "
        r"a file:// URL, or an fsspec URL such as 's3://bucket/run\.zarr'",
    ):
        neurodyn.run_sweep(SPEC, "nosuchfs://bucket/run.zarr", progress=False)
    with pytest.raises(ValueError, match=r"uses the protocol 'memroy'.* Did you mean 'memory'\?"):
        store.open_store("memroy://bucket/run.zarr")


def test_a_protocol_whose_package_is_missing_is_refused():
    fsspec.register_implementation(
        "ndmissing",
        "neurodyn_no_such_module.FileSystem",
        clobber=True,
        errtxt="Install neurodyn-no-such-fs to access ndmissing",
    )
    with pytest.raises(
        ValueError,
        match=r"Store path 'ndmissing://b/run\.zarr' uses the 'ndmissing' protocol, whose fsspec "
        r"implementation is not installed \(Install neurodyn-no-such-fs to access ndmissing\)\. "
        r"Install it",
    ):
        store.open_store("ndmissing://b/run.zarr")


def test_the_root_of_a_filesystem_is_refused():
    with pytest.raises(
        ValueError, match=r"Store path 'memory://' names the root of its filesystem"
    ):
        store.open_store("memory://")


@pytest.fixture
def memory_store(build):
    url = _memory_url("run.zarr")
    store.create_store(
        url,
        attrs={"spec": {}, "seeds": [0]},
        members=build.members_table(),
        groups={"g0": build.template()},
    )
    yield url
    _drop(url)


def test_regions_locks_and_checkpoints_on_memory(memory_store, build):
    import jax.numpy as jnp
    import jax.random as jr

    url, region = memory_store, "members_000000-000002"
    assert _keys(url)[-1] == "zarr.json" and ".neurodyn-creating" not in _keys(url)
    with store.region_lock(url, "g0", region) as lock:
        assert json.loads(MEMORY.cat_file(lock.path.path))["token"] == lock.info["token"]
        with pytest.raises(
            store.LockedError,
            match=r"region 'members_000000-000002' of group 'groups/g0' in 'memory:///neurodyn-test-",
        ):
            with store.region_lock(url, "g0", region):
                pass
        assert len(store.live_locks(url)) == 1
        state = {"w": jnp.arange(6.0).reshape(2, 3), "key": jr.key(3), "n": 4}
        store.save_checkpoint(url, "g0", region, state, meta={"step": 4})
        loaded, meta = store.load_checkpoint(url, "g0", region, like=state)
        np.testing.assert_array_equal(np.asarray(loaded["w"]), np.arange(6.0).reshape(2, 3))
        np.testing.assert_array_equal(jr.key_data(loaded["key"]), jr.key_data(jr.key(3)))
        assert meta == {"step": 4} and loaded["n"] == 4
        store.write_region(url, "g0", slice(0, 2), build.member_data(slice(0, 2)))
        store.mark_done(url, "g0", region, members=slice(0, 2))
        store.remove_checkpoint(url, "g0", region)
    assert (
        store.live_locks(url) == [] and store.load_checkpoint(url, "g0", region, like=state) is None
    )
    assert store.is_done(url, "g0", region) and not store.is_done(
        url, "g0", "members_000002-000005"
    )
    ds = store.read_group(url, "g0").load()
    np.testing.assert_array_equal(ds["steps"].values, [100, 200, -1, -1, -1])


def test_a_members_swap_killed_while_publishing_is_finished_on_open(
    memory_store, build, monkeypatch
):
    from neurodyn.store import _staging

    url = memory_store
    new = build.members_table().assign(status=("member", np.array(["ok"] * build.M)))

    def killed_publish(staged, target):
        (target / "zarr.json").unlink()  # the first step of publishing, then the kill
        raise Killed

    monkeypatch.setattr(_staging._remote, "publish", killed_publish)
    with pytest.raises(Killed):
        store.write_members(url, new)
    monkeypatch.undo()
    base = MEMORY._strip_protocol(url)
    staged = [k for k in MEMORY.store if k.startswith(f"{base}/_staging/") and k.endswith("+ready")]
    assert len(staged) == 1 and not MEMORY.exists(f"{base}/members/zarr.json")
    tag = staged[0].rsplit("/", 1)[1].rsplit("+", 1)[0]
    dead = tag.rsplit("+", 1)[0] + f"+{_dead_pid()}"  # the writer's process is gone
    for kind in ("new", "ready"):
        MEMORY.mv(f"{base}/_staging/{tag}+{kind}", f"{base}/_staging/{dead}+{kind}", recursive=True)
    store.open_store(url, mode="a")
    xr.testing.assert_identical(store.read_members(url), describe(new))
    assert [k for k in _keys(url) if k.startswith("_staging/")] == []


def test_an_interrupted_creation_is_reported_and_overwritten(memory_store, build):
    url = memory_store
    base = MEMORY._strip_protocol(url)
    MEMORY.rm_file(f"{base}/zarr.json")  # killed before the root attributes were written
    MEMORY.pipe_file(f"{base}/.neurodyn-creating", b"{}")
    with pytest.raises(
        ValueError,
        match=r"is a neurodyn store still being created, or whose creation was interrupted",
    ):
        store.open_store(url)
    with pytest.raises(
        FileExistsError, match=r"already exists\. To continue the sweep stored there, use --resume"
    ):
        store.create_store(url, attrs={}, members=build.members_table(), groups={})
    store.create_store(
        url,
        attrs={"seeds": [7]},
        members=build.members_table(3),
        groups={"g0": build.template(3)},
        overwrite=True,
    )
    assert (
        store.open_store(url).attrs["seeds"] == [7] and store.read_members(url).sizes["member"] == 3
    )
    assert ".neurodyn-creating" not in _keys(url)


def test_filesystems_that_are_not_object_stores_write_through_a_moved_temporary(tmp_path):
    from neurodyn.store import _files, _remote

    path = RemotePath(fsspec.filesystem("file"), str(tmp_path / "a" / "m.done"))
    assert not path.object_store
    _files.atomic_write_json(path, {"n": 1})
    _files.atomic_write_json(path, {"n": 2})
    assert _files.read_json(path) == {"n": 2}
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["m.done"]  # no .partial left
    lock = path.with_name("r.lock")
    _remote.create_exclusive(lock, b"ours")
    with pytest.raises(FileExistsError):
        _remote.create_exclusive(lock, b"theirs")
    assert (tmp_path / "a" / "r.lock").read_bytes() == b"ours"
