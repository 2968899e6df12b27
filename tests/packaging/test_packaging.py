import pathlib
import subprocess
import sys
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _modules_under(folder: str) -> set[str]:
    return {
        p.relative_to(ROOT / folder).as_posix()
        for p in (ROOT / folder).rglob("*.py")
        if "__pycache__" not in p.parts
    }


@pytest.mark.slow
def test_wheel_contains_every_module_of_tasks_and_analysis(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (wheel,) = tmp_path.glob("neurodyn-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder, package in (("tasks", "neurodyn/tasks"), ("analysis", "neurodyn/analysis")):
        for module in _modules_under(folder):
            assert f"{package}/{module}" in names, f"{folder}/{module} is missing from the wheel"
    for module in _modules_under("neurodyn"):
        assert f"neurodyn/{module}" in names, f"neurodyn/{module} is missing from the wheel"


def test_packages_list_names_every_subpackage():
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    found = set()
    for folder, package in (("neurodyn", "neurodyn"), ("tasks", "neurodyn.tasks"), ("analysis", "neurodyn.analysis")):
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((package, *rel)))
    assert found <= listed, f"subpackages missing from pyproject's packages: {sorted(found - listed)}"


def test_import_from_outside_the_repository(tmp_path):
    code = "import neurodyn.tasks, neurodyn.analysis, neurodyn; print(neurodyn.tasks.__file__)"
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert pathlib.Path(result.stdout.strip()).parent == ROOT / "tasks"
