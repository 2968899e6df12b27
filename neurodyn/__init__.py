"""neurodyn: train many recurrent networks on cognitive tasks in one compiled program,
store them in zarr, and reverse-engineer them.

The names below are loaded on first use, so `import neurodyn` (and `neurodyn --help`)
does not start JAX, xarray and zarr until something needs them.
"""

import importlib
from typing import TYPE_CHECKING

from ._version import __version__ as __version__

#: public name -> the module that defines it
_EXPORTS = {
    "Trajectory": "._types",
    "Trial": "._types",
    "SweepSpec": ".spec",
    "SweepStore": ".store",
    "open_sweep": ".store",
    "SweepResult": ".sweep",
    "run_sweep": ".sweep",
    "History": ".train",
    "TrainConfig": ".train",
    "fit": ".train",
    "fit_group": ".train",
    "use_cpu_cores": ".train",
    "report": ".reports",
}
_SUBPACKAGES = ("analysis", "models", "parallel", "reports", "spec", "store", "sweep", "tasks", "train")


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
        globals()[name] = value
        return value
    if name in _SUBPACKAGES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'neurodyn' has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *_EXPORTS, *_SUBPACKAGES})


if TYPE_CHECKING:
    from ._types import Trajectory as Trajectory
    from ._types import Trial as Trial
    from .reports import report as report
    from .spec import SweepSpec as SweepSpec
    from .store import SweepStore as SweepStore
    from .store import open_sweep as open_sweep
    from .sweep import SweepResult as SweepResult
    from .sweep import run_sweep as run_sweep
    from .train import History as History
    from .train import TrainConfig as TrainConfig
    from .train import fit as fit
    from .train import fit_group as fit_group
    from .train import use_cpu_cores as use_cpu_cores
