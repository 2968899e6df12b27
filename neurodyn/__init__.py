"""neurodyn: train many recurrent networks on cognitive tasks in one compiled program,
store them in zarr, and reverse-engineer them."""

from ._types import Trajectory as Trajectory, Trial as Trial
from ._version import __version__ as __version__
from .train import History as History, TrainConfig as TrainConfig, fit as fit
