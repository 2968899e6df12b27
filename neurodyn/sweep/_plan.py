"""From a spec to a plan: members built, grouped by static structure, split into regions.

Two members belong to one group when everything that shapes the compiled program is
equal: the model's class, static fields and array shapes; the task's; and the static
part of the training config. Everything else (learning rates, penalties, gains, τ,
noise levels, task probabilities) is an array leaf that differs across members.
"""

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr

from ..spec import MODELS, TASKS, SweepSpec
from ..spec._sweep import Member, train_config
from ..spec._sweep import curriculum as build_curriculum
from ..train import TrainConfig

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
    model_key, train_key = jr.split(jr.key(seed))
    return model_key, train_key


def build_task(member: Member):
    params = {k: v for k, v in member.task.items() if k != "name"}
    return TASKS.build(member.task["name"], params)


def build_model(member: Member, task, *, key=None):
    params = {k: v for k, v in member.model.items() if k != "name"}
    key = member_keys(member.seed)[0] if key is None else key
    return MODELS.build(
        member.model["name"], params, input_size=task.input_size, output_size=task.output_size, key=key
    )


def build_member(member: Member) -> BuiltMember:
    task = build_task(member)
    model = build_model(member, task)
    config = train_config(member.train)
    return BuiltMember(member, model, task, config, member_keys(member.seed)[1], build_curriculum(member.train))


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
    members = spec.validate()
    chunk_cap = spec.sweep.get("members_per_chunk", DEFAULT_MEMBERS_PER_CHUNK)
    if isinstance(chunk_cap, bool) or not isinstance(chunk_cap, int) or chunk_cap < 1:
        raise ValueError(f"spec [sweep] members_per_chunk={chunk_cap!r} must be an integer >= 1.")
    by_key: dict[tuple, list[int]] = {}
    descriptions = {}
    for m in members:
        if exclude and member_identity(m) in exclude:
            continue
        task = build_task(m)
        model = eqx.filter_eval_shape(lambda t=task, m=m: build_model(m, t, key=jr.key(0)))
        config = train_config(m.train)
        key = (
            type(model).__name__, structure(model), type(task).__name__, structure(task),
            config.static_key(), repr(build_curriculum(m.train)),
        )
        by_key.setdefault(key, []).append(m.index)
        descriptions[key] = (
            f"{m.model['name']} H={getattr(model, 'hidden_size', '?')} on {m.task['name']}, "
            f"{config.optimizer}, batch {config.batch_size}"
        )
    groups = []
    for i, (key, idx) in enumerate(by_key.items()):
        chunk = min(chunk_cap, len(idx))
        groups.append(Group(f"g{first_group + i}", idx, chunk, descriptions[key]))
    return Plan(spec, members, groups)


def member_identity(member: Member) -> tuple:
    """What makes a member the same member across runs of a (grown) spec."""
    return tuple(sorted((k, repr(v)) for k, v in member.coords.items()))


def estimate_bytes(built: BuiltMember, n_members: int) -> dict:
    """A rough memory estimate for training `n_members` of this structure at once."""
    params = sum(x.size for x in jax.tree_util.tree_leaves(eqx.filter(built.model, eqx.is_inexact_array)))
    c = built.config
    t = built.task.n_time
    state = getattr(built.model, "state_size", built.model.hidden_size)
    # parameters, Adam's two moments, gradients; activations saved for the backward pass
    weights = 4 * params * 4
    activations = 4 * c.batch_size * t * (3 * state + built.task.output_size + built.task.input_size)
    eval_batch = 4 * c.eval_batch_size * t * (built.task.input_size + 2 * built.task.output_size)
    per_member = weights + activations + eval_batch
    return {"per_member": per_member, "total": per_member * n_members, "params": params}


def zeros_like_member_axis(tree, n: int):
    return jax.tree_util.tree_map(lambda x: jnp.zeros((n, *x.shape), x.dtype), tree)
