"""Sweep specs and the registries of models, tasks and optimisers by name."""

from ._catalog import MODELS as MODELS
from ._catalog import OPTIMIZERS as OPTIMIZERS
from ._catalog import TASKS as TASKS
from ._recipe import ModelRecipe as ModelRecipe
from ._recipe import Recipe as Recipe
from ._recipe import TaskRecipe as TaskRecipe
from ._recipe import TrainRecipe as TrainRecipe
from ._registry import Entry as Entry
from ._registry import Param as Param
from ._registry import Registry as Registry
from ._registry import describe as describe
from ._sweep import Member as Member
from ._sweep import SweepSpec as SweepSpec


def __getattr__(name: str):
    if name == "train_config":  # deprecated alias: building configs belongs to training
        import warnings

        warnings.warn(
            "neurodyn.spec.train_config moved to neurodyn.train.train_config.", DeprecationWarning, stacklevel=2
        )
        from neurodyn.train import (
            train_config,  # deprecation alias, allowed by tests/test_imports.py
        )

        return train_config
    raise AttributeError(f"module 'neurodyn.spec' has no attribute {name!r}")
