"""Sweep specs and the registries of models, tasks and optimisers by name."""

from ._catalog import MODELS as MODELS
from ._catalog import OPTIMIZERS as OPTIMIZERS
from ._catalog import TASKS as TASKS
from ._registry import Entry as Entry
from ._registry import Param as Param
from ._registry import Registry as Registry
from ._registry import describe as describe
from ._sweep import Member as Member
from ._sweep import SweepSpec as SweepSpec
from ._sweep import train_config as train_config
