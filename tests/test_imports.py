"""The package's import rules (DESIGN.md, "Who may import whom"), function-local imports
included, so that a circle cannot come back hidden inside a function."""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]

#: top-level packages of the library and where their source lives
PACKAGES = {
    "models": ROOT / "neurodyn" / "models",
    "spec": ROOT / "neurodyn" / "spec",
    "train": ROOT / "neurodyn" / "train",
    "sweep": ROOT / "neurodyn" / "sweep",
    "store": ROOT / "neurodyn" / "store",
    "parallel": ROOT / "neurodyn" / "parallel",
    "reports": ROOT / "neurodyn" / "reports",
    "tasks": ROOT / "tasks",
    "analysis": ROOT / "analysis",
}

#: who may import whom; the shared private modules of `neurodyn/` (`_checks`, `_types`,
#: `_optimizers`, `_faults`, `_version`, `_tables`) are open to every package
ALLOWED = {
    "models": set(),
    "tasks": set(),
    "parallel": {"models"},
    "spec": {"models", "tasks"},
    "store": {"spec", "models"},
    "train": {"models", "tasks", "parallel"},
    "analysis": {"models", "store", "tasks", "spec", "parallel"},
    "sweep": {"train", "store", "spec", "tasks", "models", "parallel"},
    "reports": {"store", "analysis"},
}

#: entry points: the command line (and `python -m neurodyn`) and the demo may import any package, no package them
ENTRY_POINTS = {"cli", "_demo", "__main__"}

#: documented deprecation aliases: (file, imported package)
EXCEPTIONS = {("neurodyn/spec/__init__.py", "train")}


def _module_of(path: pathlib.Path) -> list[str]:
    """The dotted name of a source file inside the installed `neurodyn` package."""
    rel = path.relative_to(ROOT)
    parts = list(rel.with_suffix("").parts)
    if parts[0] != "neurodyn":
        parts = ["neurodyn", *parts]  # tasks/ and analysis/ are installed under neurodyn
    return parts


def _imports(path: pathlib.Path):
    """Every module a file imports, anywhere in it, as absolute dotted names."""
    here = _module_of(path)
    package = here if path.name == "__init__.py" else here[:-1]
    if path.name == "__init__.py":
        package = here[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module
            yield name, node.lineno
            for alias in node.names:  # `from neurodyn import store` imports a package
                yield f"{name}.{alias.name}", node.lineno


def _component(dotted: str) -> str | None:
    parts = dotted.split(".")
    if parts[0] in ("tasks", "analysis"):
        return "bare:" + parts[0]
    if parts[0] != "neurodyn" or len(parts) < 2:
        return None
    return parts[1]


def _files():
    for name, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")) if folder.exists() else []:
            yield name, path
    for path in sorted((ROOT / "neurodyn").glob("*.py")):
        yield path.stem, path


def test_the_import_rules_hold_everywhere():
    broken = []
    for owner, path in _files():
        rel = str(path.relative_to(ROOT))
        for dotted, line in _imports(path):
            target = _component(dotted)
            if target is None or target == owner:
                continue
            if target.startswith("bare:"):
                broken.append(f"{rel}:{line} imports the bare name {dotted!r}; use neurodyn.{dotted}")
                continue
            if owner in ENTRY_POINTS:
                continue
            if target in ENTRY_POINTS:
                broken.append(f"{rel}:{line} imports the entry point {dotted!r}")
                continue
            if target not in PACKAGES:
                continue  # a shared private module of neurodyn/
            if owner not in PACKAGES:
                continue  # the shared private modules are leaves (checked below)
            if target not in ALLOWED[owner] and (rel, target) not in EXCEPTIONS:
                broken.append(f"{rel}:{line}: {owner} may not import {target} ({dotted})")
    assert not broken, "\n".join(broken)


def test_the_shared_private_modules_import_no_package():
    broken = []
    for path in sorted((ROOT / "neurodyn").glob("_*.py")):
        if path.stem in ENTRY_POINTS or path.stem == "__init__":
            continue
        for dotted, line in _imports(path):
            target = _component(dotted)
            if target in PACKAGES and not (path.stem == "_tables"):
                broken.append(f"{path.relative_to(ROOT)}:{line} imports {dotted}")
    assert not broken, "\n".join(broken)


def test_the_checker_sees_function_local_and_relative_imports(tmp_path):
    # the checker itself must find what it is meant to forbid
    fake = ROOT / "neurodyn" / "spec" / "_probe_for_test.py"
    source = "def f():\n    from ..train import TrainConfig\n    from neurodyn.sweep import run_sweep\n"
    names = []
    try:
        fake.write_text(source)
        names = [d for d, _ in _imports(fake)]
    finally:
        fake.unlink()
    assert "neurodyn.train" in names and "neurodyn.sweep" in names
    assert _component("neurodyn.train.TrainConfig") == "train"


def _module_files():
    files = {}
    for _, path in _files():
        if path.name != "__init__.py":
            files[".".join(_module_of(path))] = path
    return files


def test_no_module_imports_itself_through_others():
    files = _module_files()
    graph = {}
    for name, path in files.items():
        graph[name] = {d for d, _ in _imports(path) if d in files and d != name}
    # depth-first search for a cycle among the modules (package __init__ files, which
    # only re-export, are left out)
    state, stack, cycles = {}, [], []

    def visit(n):
        state[n] = "open"
        stack.append(n)
        for m in sorted(graph[n]):
            if state.get(m) == "open":
                cycles.append(" -> ".join(stack[stack.index(m):] + [m]))
            elif m not in state:
                visit(m)
        stack.pop()
        state[n] = "done"

    for n in sorted(graph):
        if n not in state:
            visit(n)
    assert not cycles, "\n".join(cycles)


#: calls that change process-wide state a user owns (the plotting backend, JAX's
#: configuration); only the entry points may make them
GLOBAL_SETTERS = {("matplotlib", "use"), ("plt", "switch_backend"), ("pyplot", "switch_backend")}


def _global_calls(path: pathlib.Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
            if (node.func.value.id, node.func.attr) in GLOBAL_SETTERS:
                yield node.lineno, f"{node.func.value.id}.{node.func.attr}"


def test_library_code_changes_no_global_setting():
    found = []
    for src in PACKAGES.values():
        for path in src.rglob("*.py"):
            found += [f"{path.relative_to(ROOT)}:{line} {call}" for line, call in _global_calls(path)]
    for path in (ROOT / "neurodyn").glob("*.py"):
        if path.stem not in ENTRY_POINTS:
            found += [f"{path.relative_to(ROOT)}:{line} {call}" for line, call in _global_calls(path)]
    assert found == [], f"library code switches a global setting: {found}"
    # the check sees such a call where it is
    entry = [call for p in (ROOT / "neurodyn").glob("*.py") if p.stem in ENTRY_POINTS for _, call in _global_calls(p)]
    assert "matplotlib.use" in entry
