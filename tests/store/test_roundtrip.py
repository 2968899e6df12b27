import json
import pathlib
import warnings

import numpy as np
import pytest
import xarray as xr
import zarr

from neurodyn._version import SCHEMA_VERSION, __version__
from neurodyn.store import (
    append_members,
    create_group,
    create_store,
    open_store,
    read_group,
    read_members,
    set_complete,
    write_dataset,
    write_members,
    write_region,
)
from neurodyn.store._cf import describe


def _expected(build, n=None):
    """The template with every member's data filled in, as a reader should see it."""
    n = n or build.M
    full = build.member_data(slice(0, n))
    out = build.template(n)
    for name in full.data_vars:
        out[name] = out[name].copy(data=full[name].values)
    return describe(out)  # the store adds CF long_name/units to every variable


def test_region_writes_round_trip(store, build):
    for members in (slice(0, 2), slice(2, 5)):
        write_region(store, "g0", members, build.member_data(members))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = read_group(store, "g0").load()
    xr.testing.assert_identical(got, _expected(build))
    assert got.steps.dtype == np.int32 and got.diverged.dtype == bool
    assert got.eigenvalues.dtype == np.complex64
    np.testing.assert_array_equal(got.W_rec.values, build.member_data(slice(0, 5)).W_rec.values)


def test_unwritten_members_read_as_fill_values(store, build):
    write_region(store, "g0", slice(1, 2), build.member_data(slice(1, 2)))
    got = read_group(store, "g0").load()
    others = [0, 2, 3, 4]
    assert np.isnan(got.loss.values[others]).all()
    assert got.steps.dtype == np.int32  # -1, not NaN in a float array
    assert got.steps.values.tolist() == [-1, 200, -1, -1, -1]
    assert got.diverged.values.tolist() == [False, True, False, False, False]
    assert np.isnan(got.eigenvalues.values[others].real).all()
    assert np.isnan(got.eigenvalues.values[others].imag).all()
    assert got.label.values.tolist() == ["", "net-1", "", "", ""]
    # shared variables were written at creation
    np.testing.assert_array_equal(got.inputs.values, np.arange(24.0).reshape(2, 4, 3))


def test_one_member_per_chunk_and_compressed(store):
    for name, chunks in [
        ("loss", [1, 7]),
        ("W_rec", [1, 3, 3]),
        ("steps", [1]),
        ("eigenvalues", [1, 3]),
        ("label", [1]),
    ]:
        meta = json.loads((store / "groups" / "g0" / name / "zarr.json").read_text())
        assert meta["chunk_grid"]["configuration"]["chunk_shape"] == chunks, name
        assert any(c["name"] == "zstd" for c in meta["codecs"]), name
    steps = json.loads((store / "groups" / "g0" / "steps" / "zarr.json").read_text())
    assert steps["fill_value"] == -1 and "_FillValue" not in steps["attributes"]
    # nothing of a member variable is written before its region
    assert not (store / "groups" / "g0" / "loss" / "c").exists()


def test_zarr_writes_chunks_atomically(tmp_path, monkeypatch):
    # Readers of a store being written rely on this: LocalStore writes each chunk to a
    # temporary file and renames it over the old one, so a write cut short before the
    # rename leaves the previous chunk whole.
    arr = zarr.create_array(str(tmp_path / "a.zarr"), shape=(4,), chunks=(4,), dtype="f4")
    arr[:] = np.arange(4, dtype="f4")
    moved = []
    real = pathlib.Path.replace

    def cut_short(self, target):
        moved.append((self.name, pathlib.Path(target).name))
        raise OSError("killed before the rename")

    monkeypatch.setattr(pathlib.Path, "replace", cut_short)
    with pytest.raises(OSError, match="killed before the rename"):
        arr[:] = np.full(4, 9.0, dtype="f4")
    monkeypatch.setattr(pathlib.Path, "replace", real)
    assert len(moved) == 1 and moved[0][0].endswith(".partial") and moved[0][1] == "0"
    np.testing.assert_array_equal(zarr.open_array(str(tmp_path / "a.zarr"))[:], np.arange(4))
    assert not list((tmp_path / "a.zarr").rglob("*.partial"))


def test_root_attributes(store):
    attrs = open_store(store).attrs
    assert attrs["version"] == __version__
    assert attrs["schema_version"] == SCHEMA_VERSION
    assert attrs["spec"] == {"model": {"hidden_size": 3}}
    assert attrs["seeds"] == [0, 1]
    assert attrs["complete"] is False
    assert "T" in attrs["created"]
    assert "git_revision" in attrs
    set_complete(store, True)
    assert open_store(store).complete


def test_members_table_round_trip_and_rewrite(store, build):
    xr.testing.assert_identical(read_members(store), describe(build.members_table()))
    table = build.members_table()
    table["status"][:] = "ok"
    table["final_loss"][:] = 0.25
    write_members(store, table)
    xr.testing.assert_identical(open_store(store).members, describe(table))
    assert not (store / "_staging").exists()


def test_members_string_coordinate_selects(store):
    table = read_members(store)
    assert table.set_xindex("activation").sel(activation="relu").sizes["member"] == 2


def test_write_dataset_replaces_whole(store, build):
    first = xr.Dataset({"q": (("member", "fp"), np.ones((build.M, 2)))}, attrs={"v": 1})
    write_dataset(store, "analyses/fixed_points", first)
    xr.testing.assert_identical(read_group(store, "analyses/fixed_points").load(), describe(first))
    second = xr.Dataset({"speed": ("member", np.arange(build.M) * 1.0)}, attrs={"v": 2})
    write_dataset(store, "analyses/fixed_points", second)
    xr.testing.assert_identical(read_group(store, "analyses/fixed_points").load(), describe(second))
    assert open_store(store).analyses == ["fixed_points"]
    with pytest.raises(FileExistsError, match="already holds 'analyses/fixed_points'"):
        write_dataset(store, "analyses/fixed_points", first, replace=False)


def test_append_members_keeps_existing(store, build):
    write_region(store, "g0", slice(0, 5), build.member_data(slice(0, 5)))
    new = build.template(7).isel(member=slice(5, 7))
    append_members(store, "g0", new)
    got = read_group(store, "g0")
    assert got.sizes["member"] == 7
    xr.testing.assert_identical(got.isel(member=slice(0, 5)).load(), _expected(build))
    assert got.steps.values[5:].tolist() == [-1, -1]
    write_region(store, "g0", slice(5, 7), build.member_data(slice(5, 7)))
    xr.testing.assert_identical(read_group(store, "g0").load(), _expected(build, 7))


def test_analysis_group_filled_chunk_by_chunk(store, build):
    template = xr.Dataset(
        {"q": (("member", "fp"), np.zeros((build.M, 2)))}, coords={"member": np.arange(build.M)}
    )
    create_group(store, "analyses/fixed_points", template)
    assert np.isnan(read_group(store, "analyses/fixed_points").q.values).all()
    write_region(
        store,
        "analyses/fixed_points",
        slice(0, 3),
        xr.Dataset({"q": (("member", "fp"), np.ones((3, 2)))}),
    )
    q = read_group(store, "analyses/fixed_points").q.values
    assert (q[:3] == 1).all() and np.isnan(q[3:]).all()
    with pytest.raises(FileExistsError, match="already holds 'analyses/fixed_points'"):
        create_group(store, "analyses/fixed_points", template)


def test_write_region_part_of_each_member(store, build):
    block = xr.Dataset({"loss": (("member", "step"), np.full((2, 3), 5.0, "float32"))})
    write_region(store, "g0", slice(3, 5), block, at={"step": slice(4, 7)})
    loss = read_group(store, "g0").loss.values
    assert (loss[3:, 4:] == 5).all() and np.isnan(loss[3:, :4]).all() and np.isnan(loss[:3]).all()


def test_read_group_with_dask(store, build):
    write_region(store, "g0", slice(0, 5), build.member_data(slice(0, 5)))
    lazy = read_group(store, "g0", chunks={})
    assert lazy.loss.chunks[0] == (1,) * build.M
    xr.testing.assert_identical(lazy.load(), _expected(build))


@pytest.mark.parametrize(
    "members, ds, match",
    [
        (slice(0, 2), "shared", r"variables \['inputs'\] have no 'member' dimension"),
        (slice(0, 3), "two", r"ds has 2 members but the slice slice\(0, 3, None\) covers 3"),
        (slice(4, 6), "two", r"not a non-empty range within the 5 members of group 'groups/g0'"),
        (slice(0, 2), "unknown", r"variables \['bogus'\] are not in the group"),
        (slice(0, 2), "dims", r"variable 'loss' has dims \('step', 'member'\), the store has"),
        (slice(1, 3), "coord", r"member coordinate \[0 1\] does not match the stored members"),
    ],
)
def test_write_region_refusals(store, build, members, ds, match):
    two = build.member_data(slice(0, 2))
    datasets = {
        "shared": two.assign(inputs=(("trial",), np.ones(2))),
        "two": two,
        "unknown": two.assign(bogus=("member", np.ones(2))),
        "dims": two.assign(loss=two.loss.T),
        "coord": two,
    }
    with pytest.raises(ValueError, match=match):
        write_region(store, "g0", members, datasets[ds])


def test_unknown_group_names_the_groups(store, build):
    with pytest.raises(ValueError, match=r"no group 'groups/g1'.*\['g0'\]\. Did you mean 'g0'\?"):
        read_group(store, "g1")
    with pytest.raises(ValueError, match="group name 'bad name' is not allowed"):
        write_region(store, "bad name", slice(0, 1), build.member_data(slice(0, 1)))


def test_attrs_must_be_json(tmp_path, build):
    with pytest.raises(TypeError, match=r"attrs\['spec'\]\['f'\] = .* cannot be stored as JSON"):
        create_store(
            tmp_path / "x.zarr",
            attrs={"spec": {"f": object()}},
            members=build.members_table(),
            groups={},
        )
    assert not (tmp_path / "x.zarr").exists()
