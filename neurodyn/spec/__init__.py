"""Sweep specs and the registries of models, tasks and optimisers by name."""

from ._catalog import MODELS as MODELS, OPTIMIZERS as OPTIMIZERS, TASKS as TASKS
from ._registry import Entry as Entry, Param as Param, Registry as Registry, describe as describe
from ._sweep import Member as Member, SweepSpec as SweepSpec, train_config as train_config
