"""Creating and replacing stores: nothing but a neurodyn store is ever deleted, and an
interrupted replacement loses nothing."""

import os

import pytest

from neurodyn.store import create_store, open_store, read_members


def _tree(path):
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def test_overwrite_refuses_a_symbolic_link_and_keeps_its_target(store, build, tmp_path):
    link = tmp_path / "link.zarr"
    link.symlink_to(store)
    before = _tree(store)
    with pytest.raises(ValueError, match=r"it is a symbolic link \(to .*run\.zarr'\)"):
        create_store(link, attrs={}, members=build.members_table(), groups={}, overwrite=True)
    assert link.is_symlink() and _tree(store) == before


def test_overwrite_refuses_a_store_holding_foreign_files(store, build):
    (store / "notes.txt").write_text("do not lose me")
    with pytest.raises(ValueError, match=r"holds files neurodyn did not write: \['notes.txt'\]"):
        create_store(store, attrs={}, members=build.members_table(), groups={}, overwrite=True)
    assert (store / "notes.txt").read_text() == "do not lose me"
    assert open_store(store).groups == ["g0"]


def test_a_file_is_not_replaced(tmp_path, build):
    target = tmp_path / "run.zarr"
    target.write_text("a file")
    with pytest.raises(ValueError, match="it is not a directory"):
        create_store(target, attrs={}, members=build.members_table(), groups={}, overwrite=True)
    assert target.read_text() == "a file"


def test_an_empty_directory_is_used(tmp_path, build):
    (tmp_path / "run.zarr").mkdir()
    create_store(tmp_path / "run.zarr", attrs={}, members=build.members_table(2), groups={})
    assert read_members(tmp_path / "run.zarr").sizes["member"] == 2


def test_a_store_left_aside_by_a_killed_overwrite_comes_back(store, build):
    # killed between moving the old store aside and renaming the new one into place
    aside = store.with_name(f".{store.name}.replaced-0123456789ab")
    os.rename(store, aside)
    assert open_store(store).groups == ["g0"]
    assert not aside.exists()
    os.rename(store, aside)
    create_store(store, attrs={"spec": {"v": 2}}, members=build.members_table(3), groups={}, overwrite=True)
    assert open_store(store).attrs["spec"] == {"v": 2}
    assert sorted(p.name for p in store.parent.iterdir()) == ["run.zarr"]


def test_a_publish_that_finds_another_store_in_place_fails_and_deletes_nothing(store, build, monkeypatch):
    from neurodyn.store import _store

    before = _tree(store)
    # another creator published between this one's check and its rename
    monkeypatch.setattr(_store, "_restore_replaced", lambda root: None)
    monkeypatch.setattr(_store, "_empty_directory", lambda root: True)
    monkeypatch.setattr(_store, "exists", lambda root: False)
    with pytest.raises(FileExistsError):
        create_store(store, attrs={}, members=build.members_table(), groups={})
    assert _tree(store) == before
    assert sorted(p.name for p in store.parent.iterdir()) == ["run.zarr"]
