"""From a spec to a plan: members built, grouped by static structure, split into regions.

Two members belong to one group when everything that shapes the compiled program is
equal: the model's class, static fields and array shapes; the task's; and the static
part of the training config. Everything else (learning rates, penalties, gains, τ,
noise levels, task probabilities) is an array leaf that differs across members.
"""

import dataclasses
import functools
import math
import os

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from ..spec import SweepSpec, _recipe
from ..spec._recipe import Recipe, TrainRecipe
from ..spec._sweep import Member
from ..train import TrainConfig
from ..train._section import curriculum_from_section as build_curriculum
from ..train._section import train_config

DEFAULT_MEMBERS_PER_CHUNK = 1024


@dataclasses.dataclass
class BuiltMember:
    member: Member
    model: object
    task: object
    config: TrainConfig
    train_key: jax.Array
    curriculum: object = None


@dataclasses.dataclass
class Group:
    """Members that share one compiled program, split into regions of `chunk` members."""

    name: str
    members: list[int]
    chunk: int
    description: str

    def regions(self) -> list[slice]:
        """Positions (along the group's `member` axis) of each region."""
        n = len(self.members)
        return [slice(i, min(i + self.chunk, n)) for i in range(0, n, self.chunk)]


@dataclasses.dataclass
class Plan:
    spec: SweepSpec
    members: list[Member]
    groups: list[Group]

    def group_of(self, index: int) -> Group:
        for g in self.groups:
            if index in g.members:
                return g
        raise KeyError(index)


def member_keys(seed: int):
    """The keys a member's seed expands into: model initialisation and training."""
    return _recipe.member_keys(seed)


def recipe_of(member: Member) -> Recipe:
    """The member's recipe (its seed and frozen task, model and train sections)."""
    return Recipe.from_member(member)


@functools.lru_cache(maxsize=_recipe.CACHE_SIZE)
def config_of(train: TrainRecipe) -> TrainConfig:
    """The `TrainConfig` of a [train] recipe, built once per distinct section."""
    return train_config(train.to_section())


@functools.lru_cache(maxsize=_recipe.CACHE_SIZE)
def curriculum_of(train: TrainRecipe):
    """The curriculum a [train] recipe asks for (or None), built once per section."""
    return build_curriculum(train.to_section())


def clear_caches() -> None:
    """Forget every built task, model template, `TrainConfig` and curriculum (e.g.
    after re-registering a model or task name)."""
    _recipe.clear_caches()
    config_of.cache_clear()
    curriculum_of.cache_clear()


def _check_train(section: dict) -> None:
    """Raise what building the section's `TrainConfig` and curriculum would raise; the
    built ones stay cached for the members of that section."""
    recipe = TrainRecipe.from_section(section)
    config_of(recipe)
    curriculum_of(recipe)


def build_task(member: Member):
    return recipe_of(member).build_task()


def build_model(member: Member, task=None, *, key=None):
    """The member's model (from its seed's model key, or `key`); `task` is ignored: the
    member's own task recipe sizes it."""
    return recipe_of(member).build_model(key=key)


def build(recipe: Recipe) -> BuiltMember:
    """Everything a member trains with, from its recipe: the task and `TrainConfig`
    shared with every member of the same sections, the model built from its seed."""
    config = config_of(recipe.train)
    return BuiltMember(
        None, recipe.build_model(), recipe.build_task(), config, recipe.member_keys()[1], curriculum_of(recipe.train)
    )


def build_member(member: Member) -> BuiltMember:
    built = build(recipe_of(member))
    built.member = member
    return built


class BuiltMembers(dict):
    """Built members by index, each built from its recipe the first time it is asked for."""

    def __init__(self, members):
        super().__init__()
        self._members = members

    def __missing__(self, index):
        self[index] = built = build_member(self._members[index])
        return built


def structure(tree) -> tuple:
    """A hashable description of what compiles: treedef, static fields, leaf shapes."""
    leaves, treedef = jax.tree_util.tree_flatten(eqx.filter(tree, eqx.is_array))
    shapes = tuple((tuple(x.shape), str(x.dtype)) for x in leaves if x is not None)
    return (str(treedef), shapes)


def plan_sweep(spec: SweepSpec, *, first_group: int = 0, exclude: set | None = None) -> Plan:
    """Validate and expand `spec`, then group members by compiled structure.

    `exclude`: coordinate tuples of members already present in a store (resume with a
    grown spec); they are left out of the new groups.
    """
    members = spec.validate(check_train=_check_train)
    chunk_cap = spec.sweep.get("members_per_chunk", DEFAULT_MEMBERS_PER_CHUNK)
    if isinstance(chunk_cap, bool) or not isinstance(chunk_cap, int) or chunk_cap < 1:
        raise ValueError(f"spec [sweep] members_per_chunk={chunk_cap!r} must be an integer >= 1.")
    by_key: dict[tuple, list[int]] = {}
    descriptions = {}
    # the seed never changes what compiles: members equal but for it share one look
    seen: dict[str, tuple] = {}
    for m in members:
        if exclude and member_identity(m) in exclude:
            continue
        recipe = recipe_of(m)
        sections = (recipe.task, recipe.model, recipe.train)
        if sections not in seen:
            model, task = recipe.shapes()
            config = config_of(recipe.train)
            key = (
                type(model).__name__, structure(model), type(task).__name__, structure(task),
                config.static_key(), repr(curriculum_of(recipe.train)),
            )
            description = (
                f"{m.model['name']} H={getattr(model, 'hidden_size', '?')} on {m.task['name']}, "
                f"{config.optimizer}, batch {config.batch_size}"
            )
            seen[sections] = (key, description)
        key, description = seen[sections]
        by_key.setdefault(key, []).append(m.index)
        descriptions[key] = description
    groups = []
    for i, (key, idx) in enumerate(by_key.items()):
        chunk = min(chunk_cap, len(idx))
        groups.append(Group(f"g{first_group + i}", idx, chunk, descriptions[key]))
    return Plan(spec, members, groups)


def member_identity(member: Member) -> tuple:
    """What makes a member the same member across runs of a (grown) spec."""
    return tuple(sorted((k, repr(v)) for k, v in member.coords.items()))


def shapes_of(member: Member):
    """The member's model as shapes only (nothing allocated), its task and its config."""
    recipe = recipe_of(member)
    model, task = recipe.shapes()
    return model, task, config_of(recipe.train)


def estimate_bytes(
    model, task, config: TrainConfig, n_members: int, *, n_snapshots: int = 0, n_trajectories: int = 16
) -> dict:
    """Memory to train `n_members` of one structure at once, and what each stores.

    `model` may hold shapes only (`eqx.filter_eval_shape`). Counted per member, in
    float32: parameters with their initial copy, gradient and two optimiser moments;
    the states a backward pass keeps (every step, or about T / bptt_chunk + bptt_chunk
    with `bptt_chunk`); a training and the evaluation batch; the loss and metric
    histories (two numbers per step and per epoch), parameter snapshots and stored
    trajectories. Returns bytes: `per_member`, `total` (for `n_members`), `stored` (per
    member, uncompressed, in the store); `params` (a count) and `largest` (the term that
    needs the most, in words naming the setting that sizes it).
    """
    trial = jax.eval_shape(lambda: task.sample(key=jr.key(0)))
    n_time, n_in = trial.inputs.shape[-2], trial.inputs.shape[-1]
    n_out = trial.targets.shape[-1]
    params = sum(math.prod(x.shape) for x in jax.tree_util.tree_leaves(model) if _inexact(x))
    state = int(getattr(model, "state_size", model.hidden_size))
    f32 = 4
    kept = n_time if config.bptt_chunk is None else min(n_time, n_time // config.bptt_chunk + config.bptt_chunk)
    weights = 5 * params * f32
    activations = f32 * config.batch_size * kept * (3 * state + n_out)
    batches = f32 * n_time * (n_in + 2 * n_out) * (config.batch_size + config.eval_batch_size)
    history = f32 * 2 * (config.n_steps + config.n_epochs)
    snapshots = f32 * params * n_snapshots
    trajectories = f32 * n_trajectories * n_time * (state + n_out)
    per_member = weights + activations + batches + history + snapshots + trajectories
    stored = 2 * params * f32 + history + snapshots + trajectories
    parts = {  # named by the settings that size them
        "the parameters, gradients and optimiser moments (hidden_size; the task's input and output sizes)": weights,
        "the states kept for the backward pass (batch_size × n_time; bptt_chunk shortens it)": activations,
        "the training and evaluation batches (batch_size, eval_batch_size × n_time × input size)": batches,
        "the loss and metric histories ([train] n_steps)": history,
        "the parameter snapshots ([sweep] snapshot_every)": snapshots,
        "the stored trajectories ([sweep] trajectories × n_time)": trajectories,
    }
    return {"per_member": per_member, "total": per_member * n_members, "stored": stored, "params": params,
            "largest": max(parts, key=parts.get)}


def _inexact(x) -> bool:
    """A floating array, concrete or shapes only (`jax.ShapeDtypeStruct`)."""
    return isinstance(x, (jax.Array, np.ndarray, jax.ShapeDtypeStruct)) and jnp.issubdtype(x.dtype, jnp.inexact)


def available_bytes(devices=None) -> tuple[int | None, str]:
    """Memory one group's region may use: the smallest device limit (accelerators) or the
    memory the system has available (CPUs), and where the figure comes from."""
    devices = list(devices or jax.devices())
    limits = []
    for d in devices:
        try:
            stats = d.memory_stats() or {}
        except Exception:  # not every backend reports it
            stats = {}
        if "bytes_limit" in stats:
            limits.append(int(stats["bytes_limit"]))
    if limits:
        return min(limits) * len(devices), f"{len(devices)} × {devices[0].device_kind} device memory"
    try:
        with open("/proc/meminfo") as f:
            info = dict(line.split(":", 1) for line in f)
        return int(info["MemAvailable"].split()[0]) * 1024, "available system memory"
    except (OSError, KeyError, ValueError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"), "physical memory"
    except (ValueError, OSError, AttributeError):
        return None, "unknown"


def zeros_like_member_axis(tree, n: int):
    return jax.tree_util.tree_map(lambda x: jnp.zeros((n, *x.shape), x.dtype), tree)
