"""Recipes: a task or a model declared once, as a frozen and hashable value.

A `TaskRecipe` is a [task] section (its `name` and parameters), a `ModelRecipe` a
[model] section. Two recipes are equal when their sections serialise to the same
canonical JSON (`to_json`, the form the members table stores), so a recipe is a
dictionary key: what is built from one recipe is built once and shared. Tasks and the
placeholder models of `ModelRecipe.template` are Equinox modules, immutable, so sharing
them is safe; a member's own model (`ModelRecipe.build(task, key=...)`) is built anew
from its key.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import types
from collections.abc import Mapping

import equinox as eqx
import jax
import jax.random as jr

from ._catalog import MODELS, TASKS

#: the most distinct recipes whose builds are kept (tasks, model templates)
CACHE_SIZE = 256


def canonical_json(section: Mapping) -> str:
    """The one serialisation of a section: sorted keys, values as JSON (others by repr)."""
    return json.dumps(dict(section), sort_keys=True, default=repr)


def _x64() -> bool:
    """Whether float64 is on: what is built depends on it, so the caches key on it."""
    return bool(jax.config.read("jax_enable_x64"))


@dataclasses.dataclass(frozen=True, eq=False)
class _Recipe:
    section: Mapping
    key: str

    kind = ""
    named = True

    @classmethod
    def from_section(cls, section: Mapping):
        """The recipe of a section (for tasks and models, a mapping with a `name`)."""
        if not isinstance(section, Mapping):
            raise TypeError(f"a {cls.kind} recipe is built from a [{cls.kind}] table (dict), got {type(section).__name__}.")
        if cls.named and "name" not in section:
            raise ValueError(f"a [{cls.kind}] section needs a `name`; it has {sorted(section)}.")
        frozen = types.MappingProxyType(dict(section))
        return cls(frozen, canonical_json(frozen))

    @property
    def name(self) -> str:
        return str(self.section["name"])

    @property
    def params(self) -> dict:
        """The parameters (a fresh dict), without the `name`."""
        return {k: v for k, v in self.section.items() if k != "name"}

    def to_section(self) -> dict:
        return dict(self.section)

    def to_json(self) -> str:
        return self.key

    def __eq__(self, other):
        return type(other) is type(self) and other.key == self.key

    def __hash__(self):
        return hash((type(self).__name__, self.key))

    def __repr__(self):
        return f"{type(self).__name__}({self.key})"


class TaskRecipe(_Recipe):
    """A task as its [task] section; `build()` gives the task, built once per recipe."""

    kind = "task"

    def build(self):
        return _task(self, _x64())


class ModelRecipe(_Recipe):
    """A model as its [model] section.

    `build(task, key=...)` is a member's model; `shapes(task)` its structure with shapes
    only (nothing allocated) and `template(task)` a model of its structure with
    placeholder numbers (the key-0 initialisation), both built once per (model, task)
    recipe pair.
    """

    kind = "model"

    def build(self, task, *, key):
        return MODELS.build(self.name, self.params, input_size=task.input_size, output_size=task.output_size, key=key)

    def shapes(self, task: TaskRecipe):
        return _model_shapes(self, task, _x64())

    def template(self, task: TaskRecipe):
        return _model_template(self, task, _x64())


class TrainRecipe(_Recipe):
    """A [train] section, frozen; building its `TrainConfig` belongs to training
    (`neurodyn.train.train_config`, cached per recipe by `neurodyn.sweep`)."""

    kind = "train"
    named = False


@functools.lru_cache(maxsize=CACHE_SIZE)
def _task(recipe: TaskRecipe, x64: bool):
    return TASKS.build(recipe.name, recipe.params)


@functools.lru_cache(maxsize=CACHE_SIZE)
def _model_shapes(recipe: ModelRecipe, task: TaskRecipe, x64: bool):
    built = task.build()
    return eqx.filter_eval_shape(lambda: recipe.build(built, key=jr.key(0)))


@functools.lru_cache(maxsize=CACHE_SIZE)
def _model_template(recipe: ModelRecipe, task: TaskRecipe, x64: bool):
    return recipe.build(task.build(), key=jr.key(0))


def clear_caches() -> None:
    """Forget every built task and model template (e.g. after re-registering a name)."""
    for cached in (_task, _model_shapes, _model_template):
        cached.cache_clear()


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A member's recipe: its seed, task, model and [train] section.

    `from_params` reads it back from a members table's `params` JSON, `to_json` writes
    that JSON. Building the `TrainConfig` belongs to training (`neurodyn.sweep` builds
    the whole member); the store and the analyses need only the task and the model.
    """

    seed: int
    task: TaskRecipe
    model: ModelRecipe
    train: TrainRecipe

    @classmethod
    def from_sections(cls, seed: int, task: Mapping, model: Mapping, train: Mapping) -> Recipe:
        return cls(int(seed), TaskRecipe.from_section(task), ModelRecipe.from_section(model), TrainRecipe.from_section(train))

    @classmethod
    def from_member(cls, member) -> Recipe:
        return cls.from_sections(member.seed, member.task, member.model, member.train)

    @classmethod
    def from_params(cls, params: str | Mapping) -> Recipe:
        """The recipe stored in a members table's `params` (JSON text or its dict)."""
        data = json.loads(params) if isinstance(params, str) else dict(params)
        missing = [k for k in ("task", "model") if k not in data]
        if missing:
            raise ValueError(f"a member's params need the sections {missing}; they have {sorted(data)}.")
        return cls.from_sections(int(data.get("seed", 0)), data["task"], data["model"], data.get("train", {}))

    def to_json(self) -> str:
        return json.dumps(
            {"seed": self.seed, "task": self.task.to_section(), "model": self.model.to_section(), "train": self.train.to_section()},
            sort_keys=True,
        )

    def member_keys(self):
        """The keys the seed expands into: model initialisation and training."""
        return member_keys(self.seed)

    def build_task(self):
        return self.task.build()

    def build_model(self, *, key=None):
        """The member's model, initialised from its seed's model key (or `key`)."""
        key = self.member_keys()[0] if key is None else key
        return self.model.build(self.task.build(), key=key)

    def shapes(self):
        """The model's structure with shapes only, and the task."""
        return self.model.shapes(self.task), self.task.build()

    def template(self):
        """A model of the member's structure (placeholder numbers) and its task."""
        return self.model.template(self.task), self.task.build()


def member_keys(seed: int):
    """The keys a member's seed expands into: model initialisation and training."""
    model_key, train_key = jr.split(jr.key(seed))
    return model_key, train_key
