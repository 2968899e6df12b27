"""Shared builders for the store tests: a small sweep's members table and group template."""

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import dask.array as da
import numpy as np
import pytest
import xarray as xr

M = 5


def members_table(n: int = M) -> xr.Dataset:
    return xr.Dataset(
        {
            "group": ("member", np.array(["g0"] * n)),
            "status": ("member", np.array(["pending"] * n)),
            "final_loss": ("member", np.full(n, np.nan)),
            "steps_trained": ("member", np.zeros(n, dtype="int64")),
        },
        coords={
            "member": np.arange(n),
            "learning_rate": ("member", 1e-3 * 2.0 ** np.arange(n)),
            "activation": ("member", np.array(["tanh", "relu"] * (n // 2) + ["tanh"] * (n % 2))),
            "seed": ("member", np.arange(n) % 2),
        },
        attrs={"note": "members of a test sweep"},
    )


def template(n: int = M) -> xr.Dataset:
    """Every kind of variable a group holds: floats, ints, bools, complex, strings."""
    return xr.Dataset(
        {
            "loss": (("member", "step"), da.zeros((n, 7), dtype="float32"), {"units": "mse"}),
            "W_rec": (("member", "hidden", "hidden_in"), da.zeros((n, 3, 3), dtype="float64")),
            "steps": ("member", da.zeros(n, dtype="int32")),
            "diverged": ("member", da.zeros(n, dtype=bool)),
            "eigenvalues": (("member", "eig"), da.zeros((n, 3), dtype="complex64")),
            "label": ("member", np.full(n, "", dtype=object)),
            "inputs": (("trial", "time", "input"), np.arange(24.0).reshape(2, 4, 3)),
        },
        coords={
            "member": np.arange(n),
            "learning_rate": ("member", 1e-3 * 2.0 ** np.arange(n)),
            "activation": ("member", np.array(["tanh", "relu"] * (n // 2) + ["tanh"] * (n % 2))),
            "time": ("time", np.arange(4) * 0.1),
        },
        attrs={"group": "g0"},
    )


def member_data(members: slice) -> xr.Dataset:
    """Deterministic data for a member range, with a value of every dtype."""
    idx = np.arange(members.start, members.stop)
    rngs = [np.random.default_rng(i) for i in idx]

    def normal(*shape):
        return np.stack([rng.normal(size=shape) for rng in rngs])

    return xr.Dataset(
        {
            "loss": (("member", "step"), normal(7).astype("float32")),
            "W_rec": (("member", "hidden", "hidden_in"), normal(3, 3)),
            "steps": ("member", (100 * (idx + 1)).astype("int32")),
            "diverged": ("member", idx % 2 == 1),
            "eigenvalues": (("member", "eig"), (normal(3) + 1j).astype("complex64")),
            "label": ("member", np.array([f"net-{i}" for i in idx])),
        },
        coords={"member": idx},
    )


def python(code: str, **kwargs) -> subprocess.Popen:
    """Start `code` in a fresh interpreter (stdout piped, text mode)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        **kwargs,
    )


class _Builders:
    M = M
    members_table = staticmethod(members_table)
    template = staticmethod(template)
    member_data = staticmethod(member_data)
    python = staticmethod(python)


@pytest.fixture
def build():
    """The builders above, for tests (tests/ has no packages to import helpers from)."""
    return _Builders


@pytest.fixture(scope="session")
def _pristine_store(tmp_path_factory):
    from neurodyn.store import create_store

    return create_store(
        tmp_path_factory.mktemp("pristine") / "run.zarr",
        attrs={"spec": {"model": {"hidden_size": 3}}, "seeds": [0, 1]},
        members=members_table(),
        groups={"g0": template()},
    )


@pytest.fixture
def store(tmp_path, _pristine_store):
    """A fresh store with one group 'g0' of M members, nothing written yet (a copy of
    one created per session: creating stores is the slow part of these tests)."""
    return Path(shutil.copytree(_pristine_store, tmp_path / "run.zarr"))
