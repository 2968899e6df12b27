"""The API reference (docs/api/*.md) lists every public name of every public module."""

import importlib
import inspect
import pathlib
import re

import pytest

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs" / "api"
PAGES = {
    "top-level": "neurodyn",
    "models": "neurodyn.models",
    "tasks": "neurodyn.tasks",
    "spec": "neurodyn.spec",
    "train": "neurodyn.train",
    "sweep": "neurodyn.sweep",
    "store": "neurodyn.store",
    "analysis": "neurodyn.analysis",
    "parallel": "neurodyn.parallel",
}


def documented(page: str) -> set[str]:
    """Names the page documents: `::: path.Name` entries and `| `NAME` |` constant rows."""
    text = (DOCS / f"{page}.md").read_text()
    entries = {m.split(".")[-1] for m in re.findall(r"^::: (\S+)$", text, flags=re.M)}
    constants = set(re.findall(r"^\| `(\w+)` \|", text, flags=re.M))
    return entries | constants


def public(module_name: str) -> set[str]:
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None) or [n for n in dir(module) if not n.startswith("_")]
    return {
        n for n in names
        if not inspect.ismodule(getattr(module, n)) and n not in ("TYPE_CHECKING", "importlib")
    }


@pytest.mark.parametrize("page", sorted(PAGES))
def test_every_public_name_is_in_the_api_reference(page):
    missing = public(PAGES[page]) - documented(page)
    assert not missing, f"docs/api/{page}.md lacks {sorted(missing)}"


def test_the_api_reference_documents_only_existing_names():
    for page, module_name in PAGES.items():
        extra = documented(page) - public(module_name)
        assert not extra, f"docs/api/{page}.md documents names {module_name} does not export: {sorted(extra)}"
