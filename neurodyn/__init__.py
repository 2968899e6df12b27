"""neurodyn: train many recurrent networks on cognitive tasks in one compiled program,
store them in zarr, and reverse-engineer them."""

from ._types import Trajectory as Trajectory
from ._types import Trial as Trial
from ._version import __version__ as __version__
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
