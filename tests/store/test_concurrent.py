import os
import shutil
import socket
import threading

import numpy as np
import xarray as xr

from neurodyn.store import (
    done_regions,
    is_done,
    mark_done,
    open_store,
    read_group,
    read_members,
    region_name,
    write_members,
)
from neurodyn.store._cf import describe  # noqa: E402
from neurodyn.store._integrity import check_region, region_manifest  # noqa: E402


def test_done_markers(store):
    region = region_name(slice(0, 2))
    assert region == "members_000000-000002"
    assert not is_done(store, "g0", region) and done_regions(store, "g0") == {}
    mark_done(store, "g0", region, members=slice(0, 2), info={"steps": np.int64(300)})
    assert is_done(store, "g0", region)
    marker = done_regions(store, "g0")[region]
    assert marker["members"] == [0, 2] and marker["info"]["steps"] == 300
    # the region's manifest rides along: what its chunk files were when it was marked
    assert set(marker["info"]) == {"steps", "manifest"}
    assert marker["info"]["manifest"] == region_manifest(store, "g0", slice(0, 2))
    assert check_region(store, "g0", marker) == []
    assert marker["host"] == socket.gethostname() and marker["pid"] == os.getpid()
    assert marker["group"] == "groups/g0" and "time" in marker
    assert open_store(store).done_regions("g0").keys() == {region}
    # markers are only ever complete files: no temporary file stays behind
    assert [p.name for p in (store / "_regions" / "groups" / "g0").iterdir()] == [f"{region}.done"]


def test_reading_while_another_process_writes_regions(store, build):
    regions = [(0, 1), (1, 3), (3, build.M)]
    writer = build.python(
        f"""
        import sys
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        from conftest import member_data
        from neurodyn.store import mark_done, region_name, write_region
        for a, b in {regions!r}:
            input()  # wait for the reader's go
            write_region({str(store)!r}, "g0", slice(a, b), member_data(slice(a, b)))
            mark_done({str(store)!r}, "g0", region_name(slice(a, b)), members=slice(a, b))
            print("wrote", b, flush=True)
        """,
        stdin=__import__("subprocess").PIPE,
    )
    try:
        lazy = read_group(store, "g0")  # opened before anything is written
        expected = build.member_data(slice(0, build.M))
        for i, (m, stop) in enumerate(regions):
            got = read_group(store, "g0").load()
            assert np.isnan(got.loss.values[m:]).all()
            assert (got.steps.values[m:] == -1).all()
            writer.stdin.write("go\n")
            writer.stdin.flush()
            assert writer.stdout.readline().split() == ["wrote", str(stop)], writer.stderr.read()
            got = read_group(store, "g0").load()
            np.testing.assert_array_equal(got.loss.values[:stop], expected.loss.values[:stop])
            assert np.isnan(got.loss.values[stop:]).all()
            assert len(done_regions(store, "g0")) == i + 1
        np.testing.assert_array_equal(lazy.W_rec.values, expected.W_rec.values)
    finally:
        writer.kill()
        writer.wait()
        for f in (writer.stdin, writer.stdout, writer.stderr):
            f.close()


def test_members_readers_see_whole_versions_during_rewrites(store, build):
    def version(k):
        table = build.members_table()
        table["final_loss"][:] = float(k)
        table["steps_trained"][:] = k
        return table

    stop = threading.Event()
    errors = []

    def rewrite():
        k = 0
        while not stop.is_set():
            k += 1
            try:
                write_members(store, version(k))
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)
                return

    thread = threading.Thread(target=rewrite)
    thread.start()
    try:
        seen = set()
        for _ in range(25):
            table = read_members(store)
            loss = table.final_loss.values
            assert (loss == loss[0]).all() or np.isnan(loss).all(), loss
            assert (table.steps_trained.values == table.steps_trained.values[0]).all()
            seen.add(float(loss[0]))
    finally:
        stop.set()
        thread.join()
    assert not errors, errors
    assert len(seen) > 1  # the reads really overlapped rewrites


def test_coordinator_killed_between_the_two_renames(store, build):
    table = build.members_table()
    table["status"][:] = "ok"
    write_members(store, table)
    # what a kill between the renames leaves: the old table moved aside, none in place
    staged = store / "_staging" / f"members+0123456789ab+{socket.gethostname()}+999999999+old"
    staged.parent.mkdir()
    shutil.move(store / "members", staged)
    open_store(store, mode="a")
    xr.testing.assert_identical(read_members(store), describe(table))
    assert not (store / "_staging").exists()


def test_abandoned_staging_copy_is_cleared(store, build):
    staged = store / "_staging" / f"members+0123456789ab+{socket.gethostname()}+999999999+new"
    shutil.copytree(store / "members", staged)
    write_members(store, build.members_table())
    assert not (store / "_staging").exists()
