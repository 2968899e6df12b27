import json
import os

import numpy as np
import pytest
import xarray as xr
import zarr

from neurodyn._version import SCHEMA_VERSION
from neurodyn.store import MIGRATIONS, create_store, open_store, read_members


def _set_schema(store, version):
    meta = store / "zarr.json"
    doc = json.loads(meta.read_text())
    doc["attributes"]["neurodyn"]["schema_version"] = version
    meta.write_text(json.dumps(doc))


def test_missing_path(tmp_path):
    with pytest.raises(
        FileNotFoundError, match=r"No store at '.*nowhere\.zarr': that path does not exist"
    ):
        open_store(tmp_path / "nowhere.zarr")


def test_directory_that_is_not_zarr(tmp_path):
    (tmp_path / "data").mkdir()
    with pytest.raises(ValueError, match=r"'.*data' is not a neurodyn store \(no zarr.json"):
        open_store(tmp_path / "data")


def test_foreign_zarr_store(tmp_path):
    xr.Dataset({"x": ("t", np.arange(3))}).to_zarr(
        tmp_path / "other.zarr", zarr_format=3, consolidated=False
    )
    with pytest.raises(
        ValueError,
        match="is not a neurodyn store .a zarr store without the 'neurodyn' root attribute",
    ):
        open_store(tmp_path / "other.zarr")


def test_newer_schema_asks_for_an_upgrade(store):
    _set_schema(store, SCHEMA_VERSION + 1)
    with pytest.raises(ValueError, match=rf"schema version {SCHEMA_VERSION + 1}.*Upgrade neurodyn"):
        open_store(store)


def test_older_schema_without_a_migration_is_refused(store):
    _set_schema(store, 0)
    with pytest.raises(ValueError, match="no migration from it .* Read it with neurodyn 0.1.0"):
        open_store(store)


def test_older_schema_with_a_migration(store, monkeypatch):
    _set_schema(store, SCHEMA_VERSION - 1)
    seen = []
    monkeypatch.setitem(MIGRATIONS, SCHEMA_VERSION - 1, lambda root: seen.append(root))
    with pytest.raises(ValueError, match="must be migrated .* open_store\\(path, mode='a'\\)"):
        open_store(store)
    assert open_store(store, mode="a").attrs["schema_version"] == SCHEMA_VERSION
    assert seen == [store]
    assert open_store(store).attrs["schema_version"] == SCHEMA_VERSION


def test_existing_path_needs_resume_or_overwrite(store, build):
    with pytest.raises(FileExistsError, match="already exists.*--resume.*--overwrite"):
        create_store(store, attrs={}, members=build.members_table(), groups={})


def test_overwrite_replaces_a_neurodyn_store(store, build):
    create_store(
        store, attrs={"spec": {"v": 2}}, members=build.members_table(3), groups={}, overwrite=True
    )
    opened = open_store(store)
    assert opened.attrs["spec"] == {"v": 2} and opened.groups == []
    assert read_members(store).sizes["member"] == 3
    assert [p.name for p in store.parent.iterdir()] == ["run.zarr"]


def test_overwrite_refuses_what_is_not_a_neurodyn_store(tmp_path, build):
    precious = tmp_path / "thesis"
    precious.mkdir()
    (precious / "chapter1.tex").write_text("...")
    with pytest.raises(ValueError, match="refuses to delete .*thesis.*not a neurodyn store"):
        create_store(precious, attrs={}, members=build.members_table(), groups={}, overwrite=True)
    assert (precious / "chapter1.tex").exists()
    zarr.open_group(tmp_path / "plain.zarr", mode="w", zarr_format=3)
    with pytest.raises(ValueError, match="not a neurodyn store"):
        create_store(
            tmp_path / "plain.zarr",
            attrs={},
            members=build.members_table(),
            groups={},
            overwrite=True,
        )


def test_a_remote_url_needs_its_fsspec_package(build):
    pytest.importorskip("fsspec")
    import importlib.util

    if importlib.util.find_spec("s3fs") is not None:
        pytest.skip("s3fs is installed: s3:// URLs are usable here")
    with pytest.raises(
        ValueError, match=r"'s3' protocol, whose fsspec implementation is not installed"
    ):
        open_store("s3://bucket/run.zarr")


def test_file_url(store):
    assert open_store(f"file://{store}").groups == ["g0"]


def test_bad_mode(store):
    with pytest.raises(ValueError, match=r"mode='w' is not one of \['r', 'a'\]"):
        open_store(store, mode="w")


def test_failed_creation_leaves_nothing(tmp_path, build):
    bad = build.template().assign(when=("member", np.full(build.M, np.datetime64("2020-01-01"))))
    with pytest.raises(TypeError, match="dtype datetime64.* cannot be stored"):
        create_store(
            tmp_path / "run.zarr", attrs={}, members=build.members_table(), groups={"g0": bad}
        )
    assert os.listdir(tmp_path) == []
