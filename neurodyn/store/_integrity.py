"""What a done region holds, recorded when it is marked done and checked when it is read.

A done marker ends with a manifest of its region: for every array of the group that has
a `member` dimension, how many chunk files of the region's members exist, their total
size, a digest of their names and sizes, and (when asked) a digest of their contents.
Checking sizes costs one directory listing per array (cheap: `open_sweep` and
`--resume` do it); checking contents reads every chunk (`neurodyn verify STORE`).

A region whose files no longer match its manifest (a deleted or truncated chunk, a
deleted array or group) is *damaged*: it is reported by name, its members read as
status "damaged", and `--resume` trains it again. zarr writes no chunk that holds only
the fill value, so a chunk absent when the region was marked is absent in the manifest
too: only what changed since is damage.
"""

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ._layout import MEMBER_DIM, Root, group_path
from ._remote import RemotePath

MANIFEST = "manifest"
#: bytes read at a time when hashing a chunk
_BLOCK = 1 << 20


def _arrays(root: Root, group: str) -> dict[str, int]:
    """The group's arrays with a `member` dimension, and where that dimension sits."""
    base = root / group_path(group)
    out = {}
    if not base.is_dir():
        return out
    for child in sorted(base.iterdir(), key=lambda p: p.name):
        meta = child / "zarr.json"
        if not meta.is_file():
            continue
        try:
            doc = json.loads(meta.read_bytes())
        except ValueError:
            continue
        names = list(doc.get("dimension_names") or ())
        if doc.get("node_type") == "array" and MEMBER_DIM in names:
            out[child.name] = names.index(MEMBER_DIM)
    return out


def _chunk_files(array_dir: Root) -> Iterator[tuple[tuple[int, ...], str, int]]:
    """Every chunk file of an array: its grid index, its key and its size in bytes."""
    chunks = array_dir / "c"
    if isinstance(chunks, RemotePath):
        try:
            found = chunks.fs.find(chunks.path, detail=True)
        except FileNotFoundError:
            return
        for full, info in found.items():
            rel = full[len(chunks.path) :].strip("/")
            index = _index(rel)
            if index is not None:
                yield index, rel, int(info.get("size") or 0)
        return
    top = str(chunks)
    for dirpath, _, files in os.walk(top):
        for name in files:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, top).replace(os.sep, "/")
            index = _index(rel)
            if index is not None:
                yield index, rel, os.stat(full).st_size


def _index(rel: str) -> tuple[int, ...] | None:
    parts = rel.split("/")
    return tuple(int(p) for p in parts) if all(p.isdigit() for p in parts) else None


def _read(path: Root) -> bytes:
    return path.read_bytes() if isinstance(path, RemotePath) else Path(path).read_bytes()


class _Listing:
    """Every chunk file of every member-dimensioned array of a group, listed once."""

    def __init__(self, root: Root, group: str):
        self.base = root / group_path(group)
        self.axes = _arrays(root, group)
        self._files: dict[str, list] = {}

    def files(self, name: str, start: int, stop: int) -> tuple[Root, list[tuple[str, int]]]:
        array_dir = self.base / name
        if name not in self._files:
            self._files[name] = list(_chunk_files(array_dir))
        axis = self.axes[name]
        chosen = [
            (rel, size)
            for index, rel, size in self._files[name]
            if len(index) > axis and start <= index[axis] < stop
        ]
        return array_dir, sorted(chosen)


def _summary(array_dir: Root, files: list[tuple[str, int]], hashes: bool) -> dict[str, Any]:
    sizes = hashlib.sha256("\n".join(f"{rel} {size}" for rel, size in files).encode())
    entry: dict[str, Any] = {
        "chunks": len(files),
        "bytes": sum(size for _, size in files),
        "sizes": sizes.hexdigest()[:32],
    }
    if hashes:
        content = hashlib.sha256()
        for rel, _ in files:
            content.update(rel.encode())
            content.update(hashlib.sha256(_read(array_dir / "c" / rel)).digest())
        entry["sha256"] = content.hexdigest()[:32]
    return entry


def region_manifest(root: Root, group: str, members: slice, *, hashes: bool = True) -> dict:
    """The manifest of members `members` of `group`, as a done marker records it."""
    listing = _Listing(root, group)
    return {
        name: _summary(*listing.files(name, members.start, members.stop), hashes)
        for name in listing.axes
    }


def check_region(
    root: Root, group: str, marker: dict, *, hashes: bool = False, listing: "_Listing | None" = None
) -> list[str]:
    """What no longer matches a done marker's manifest (empty when the region is whole).

    Markers written before manifests existed have none and are trusted as they are.
    """
    manifest = marker.get("info", {}).get(MANIFEST) if isinstance(marker.get("info"), dict) else None
    if not isinstance(manifest, dict):
        return []
    start, stop = marker["members"]
    listing = listing or _Listing(root, group)
    problems = []
    for name, recorded in manifest.items():
        if name not in listing.axes:
            problems.append(f"array {name!r} is missing")
            continue
        array_dir, files = listing.files(name, start, stop)
        now = _summary(array_dir, files, hashes and "sha256" in recorded)
        if now["chunks"] != recorded.get("chunks"):
            problems.append(f"{name}: {now['chunks']} of {recorded.get('chunks')} chunk files present")
        elif now["sizes"] != recorded.get("sizes"):
            problems.append(f"{name}: chunk sizes changed ({now['bytes']} bytes, {recorded.get('bytes')} recorded)")
        elif "sha256" in now and now["sha256"] != recorded.get("sha256"):
            problems.append(f"{name}: chunk contents changed")
    return problems


def damaged_regions(root: Root, group: str, done: dict[str, dict], *, hashes: bool = False) -> dict[str, list[str]]:
    """Every done region of `group` whose files no longer match its marker."""
    if not (root / group_path(group) / "zarr.json").is_file():
        return {name: [f"the group {group_path(group)!r} is missing"] for name in done}
    out = {}
    listing = _Listing(root, group)
    for name, marker in done.items():
        problems = check_region(root, group, marker, hashes=hashes, listing=listing)
        if problems:
            out[name] = problems
    return out
