"""Damage to a finished store is found, reported by region, refused by readers, and
trained again by a plain `--resume`, which then ends bitwise equal to an undamaged run."""

import json
import shutil

import numpy as np
import pytest
from sweep_helpers import SMALL, assert_stores_equal

import neurodyn
import neurodyn.analysis as na
from neurodyn import store


def _copy(reference_store, tmp_path, name="copy.zarr"):
    out = tmp_path / name
    shutil.copytree(reference_store, out)
    return out


def _first_chunk(out, group, array):
    files = sorted(p for p in (out / "groups" / group / array / "c").rglob("*") if p.is_file())
    assert files, f"{group}/{array} has no chunk files"
    return files[0]


def _delete_group(out):
    shutil.rmtree(out / "groups" / "g0")
    return "g0", {"members_000000-000002", "members_000002-000004"}


def _delete_array(out):
    shutil.rmtree(out / "groups" / "g1" / "loss")
    return "g1", {"members_000000-000002", "members_000002-000004"}


def _delete_chunk(out):
    _first_chunk(out, "g1", "final_W_rec").unlink()
    return "g1", {"members_000000-000002"}


def _truncate_chunk(out):
    chunk = _first_chunk(out, "g0", "states")
    chunk.write_bytes(chunk.read_bytes()[:7])
    return "g0", {"members_000000-000002"}


def _garble_metadata(out):
    (out / "groups" / "g0" / "final_b" / "zarr.json").write_text("{not json")
    return "g0", {"members_000000-000002", "members_000002-000004"}


DAMAGE = {
    "group deleted": _delete_group,
    "array deleted": _delete_array,
    "chunk deleted": _delete_chunk,
    "chunk truncated": _truncate_chunk,
    "array metadata garbled": _garble_metadata,
}


@pytest.mark.parametrize(
    "kind",
    [k if k in ("group deleted", "chunk truncated") else pytest.param(k, marks=pytest.mark.slow) for k in DAMAGE],
)
def test_damage_is_reported_refused_and_trained_again(kind, tmp_path, reference_store):
    out = _copy(reference_store, tmp_path)
    group, regions = DAMAGE[kind](out)
    damaged = store.damaged_regions_of(out)
    assert set(damaged) == {group} and set(damaged[group]) == regions, damaged
    sweep = neurodyn.open_sweep(out)
    table = sweep.members
    rows = [(str(g) == group and str(r) in regions) for g, r in zip(table["group"].values.tolist(), table["region"].values.tolist())]
    bad = [str(s) for s, hit in zip(table["status"].values.tolist(), rows) if hit]
    assert list(bad) == ["damaged"] * len(bad) and len(bad) == 2 * len(regions)
    member = int(sweep.damaged_members()[0])
    with pytest.raises(ValueError, match=rf"damaged regions .*{group}/members_.*--resume"):
        sweep.model(member)
    with pytest.raises(ValueError, match="damaged regions"):
        na.fixed_points(out, n_initial=4, n_iters=2, progress=False)
    report = store.verify_store(out, hashes=False)
    assert not report.ok and all(p.startswith(f"{group}/members_") for p in report.problems if "members table" not in p)
    neurodyn.run_sweep(SMALL, out, resume=True, progress=False)
    assert store.damaged_regions_of(out) == {}
    assert store.verify_store(out).ok
    assert_stores_equal(out, reference_store)


def test_changed_contents_need_a_content_check(tmp_path, reference_store):
    out = _copy(reference_store, tmp_path)
    chunk = _first_chunk(out, "g1", "final_W_rec")
    data = bytearray(chunk.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, other bytes
    chunk.write_bytes(bytes(data))
    assert store.damaged_regions_of(out) == {}  # sizes match: the cheap check cannot see it
    report = store.verify_store(out, hashes=True)
    assert report.problems == ["g1/members_000000-000002: final_W_rec: chunk contents changed"]
    neurodyn.run_sweep(SMALL, out, resume=True, verify_contents=True, progress=False)
    assert store.verify_store(out).ok
    assert_stores_equal(out, reference_store)


@pytest.mark.parametrize("how", ["deleted", pytest.param("corrupt chunk", marks=pytest.mark.slow)])
def test_a_lost_members_table_is_rebuilt_by_resume(how, tmp_path, reference_store):
    out = _copy(reference_store, tmp_path)
    if how == "deleted":
        shutil.rmtree(out / "members")
    else:
        (out / "members" / "status" / "c" / "0").write_bytes(b"garbage")
    with pytest.raises(FileNotFoundError, match=r"members table .* --resume"):
        store.read_members(out)
    neurodyn.run_sweep(SMALL, out, resume=True, progress=False)
    assert_stores_equal(out, reference_store)


def test_a_members_table_is_not_rebuilt_from_another_spec(tmp_path, reference_store):
    out = _copy(reference_store, tmp_path)
    shutil.rmtree(out / "members")
    other = json.loads(json.dumps(SMALL))
    other["model"]["hidden_size"] = [6, 9]
    with pytest.raises(ValueError, match=r"rebuilt only from the spec the store was written with"):
        neurodyn.run_sweep(other, out, resume=True, progress=False)
    assert not (out / "members").exists()  # nothing written


@pytest.mark.parametrize(
    "content, why",
    [
        (b"", "not a complete .npz file"),
        pytest.param(b"PK\x03\x04 not really a zip", "not a complete .npz file", marks=pytest.mark.slow),
        pytest.param("foreign", "not a neurodyn checkpoint", marks=pytest.mark.slow),
    ],
)
def test_a_damaged_checkpoint_is_reported_and_the_region_retrained(content, why, tmp_path, reference_store):
    out = _copy(reference_store, tmp_path)
    region = "members_000002-000004"
    (out / "_regions" / "groups" / "g1" / f"{region}.done").unlink()
    ckpt = out / "_checkpoints" / "groups" / "g1" / region
    ckpt.mkdir(parents=True)
    if content == "foreign":
        np.savez(ckpt / "checkpoint.npz", weights=np.arange(3))
    else:
        (ckpt / "checkpoint.npz").write_bytes(content)
    with pytest.raises(store.CheckpointError, match=why):
        store.load_checkpoint(out, "g1", region, like={})
    with pytest.warns(RuntimeWarning, match=rf"{why}.*from its start"):
        neurodyn.run_sweep(SMALL, out, resume=True, progress=False, console=_Silent())
    assert not ckpt.exists()
    assert_stores_equal(out, reference_store)


class _Silent:
    """A console that turns every warning printed into a Python warning (for pytest.warns)."""

    def print(self, *args, **kwargs):
        import warnings

        text = " ".join(str(a) for a in args)
        if text.startswith("[yellow]warning"):
            warnings.warn(text, RuntimeWarning, stacklevel=2)


def test_an_unreadable_done_marker_means_not_done(tmp_path, reference_store):
    out = _copy(reference_store, tmp_path)
    marker = out / "_regions" / "groups" / "g0" / "members_000000-000002.done"
    marker.write_text("{half a mar")
    assert not store.is_done(out, "g0", "members_000000-000002")
    assert "members_000000-000002" not in store.done_regions(out, "g0")
    neurodyn.run_sweep(SMALL, out, resume=True, progress=False)
    assert store.is_done(out, "g0", "members_000000-000002")
    assert_stores_equal(out, reference_store)
