"""Sweep specs: sections [task], [model], [train], [sweep] expanded into members.

A list value is a sweep axis (`hidden_size = [32, 64]`); `seeds = n` in [sweep] adds a
seed axis (or `seeds = [0, 5, 7]`). Axes combine as a product. `zip = [["model.hidden_size",
"train.learning_rate"]]` varies the named axes together instead (equal lengths). A string
value starting with "=" is derived from other parameters, e.g. `learning_rate = "= 0.01 *
gamma"` (names may be qualified, `model.gamma`, or bare when unambiguous; `seed` is
available). Parameters whose value is itself a list are declared as one value with
`[sweep.fixed]`, e.g. `"model.connectivity" = [[...]]` is never an axis.

Every value is validated against the registries before anything is compiled.
"""

import dataclasses
import itertools
import json
import math
import pathlib
import tomllib
from typing import Any

from .. import _checks
from ._catalog import MODELS, OPTIMIZERS, TASKS
from ._expr import evaluate, names_in

SECTIONS = ("task", "model", "train", "sweep")
SWEEP_KEYS = ("seeds", "zip", "derived", "fixed", "members_per_chunk", "name", "checkpoint_every", "trajectories", "snapshot_every")
#: [sweep] keys holding a whole number, with the smallest value allowed and what it means
_SWEEP_INTS = {
    "members_per_chunk": (1, "members per region (chunk of a group trained and stored together)"),
    "checkpoint_every": (1, "compiled calls between checkpoints of a region"),
    "trajectories": (1, "evaluation trials whose states are stored per member"),
    "snapshot_every": (1, "steps between parameter snapshots"),
}
TRAIN_KEYS = (
    "optimizer",
    "learning_rate",
    "grad_clip",
    "batch_size",
    "n_steps",
    "eval_every",
    "eval_batch_size",
    "loss_threshold",
    "patience",
    "l1",
    "l2",
    "nuclear",
    "rate",
    "epochs_per_call",
    "noise",
    "bptt_chunk",
    "time_solver",
    "lr_schedule",
    "curriculum",
    "curriculum_start_n",
    "curriculum_n_cap",
    "curriculum_threshold",
    "curriculum_width",
    "curriculum_eval_batch_size",
)
CURRICULA = ("single_head", "multi_head", "sliding_window")
#: a sweep with more members is refused before it is expanded (planning 400 000 takes ~30 s)
MAX_MEMBERS = 10_000_000


@dataclasses.dataclass(frozen=True)
class Member:
    """One network of a sweep: its index, seed and the parameters of each section."""

    index: int
    seed: int
    task: dict
    model: dict
    train: dict
    coords: dict

    @property
    def recipe(self):
        """The member's `Recipe`: its seed and frozen task, model and train sections,
        what every stage builds it from."""
        from ._recipe import Recipe

        return Recipe.from_member(self)

    def names(self) -> dict:
        return {"task": self.task["name"], "model": self.model["name"], "optimizer": self.train.get("optimizer", "adam")}


@dataclasses.dataclass
class SweepSpec:
    """A sweep: what to train, how, and over which axes.

    Build one from Python dicts, or with `SweepSpec.from_toml(path)`. `expand()` gives the
    members; `validate()` checks every member against the registries.
    """

    task: dict
    model: dict
    train: dict = dataclasses.field(default_factory=dict)
    sweep: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        for section in ("task", "model", "train", "sweep"):
            value = getattr(self, section)
            if not isinstance(value, dict):
                raise TypeError(f"spec section [{section}] must be a table (dict), got {type(value).__name__}.")
        for section in ("task", "model"):
            if "name" not in getattr(self, section):
                known = (TASKS if section == "task" else MODELS).names()
                raise ValueError(f"spec section [{section}] needs a `name`, one of {known}.")
        unknown = set(self.sweep) - set(SWEEP_KEYS)
        for key in unknown:
            raise ValueError(
                f"spec [sweep]: unknown key {key!r}.{_checks.closest(key, SWEEP_KEYS)} "
                f"Allowed keys: {list(SWEEP_KEYS)}."
            )
        for key, (minimum, meaning) in _SWEEP_INTS.items():
            value = self.sweep.get(key)
            if value is None:
                continue
            if isinstance(value, float) and value.is_integer():
                value = self.sweep[key] = int(value)
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(
                    f"spec [sweep] {key}={value!r} must be an integer >= {minimum} ({meaning})."
                )
        if "name" in self.sweep and not isinstance(self.sweep["name"], str):
            raise ValueError(f"spec [sweep] name={self.sweep['name']!r} must be a string (a label for the sweep).")

    # -- reading and writing ----------------------------------------------------------
    @classmethod
    def from_toml(cls, path) -> "SweepSpec":
        path = pathlib.Path(path)
        if not path.exists():
            raise FileNotFoundError(f"spec file {str(path)!r} does not exist.")
        if path.is_dir():
            raise ValueError(f"spec file {str(path)!r} is a directory; give the path of a TOML file such as 'sweep.toml'.")
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as err:
            raise ValueError(f"spec file {str(path)!r} is not valid TOML: {err}.") from None
        except UnicodeDecodeError:
            raise ValueError(f"spec file {str(path)!r} is not UTF-8 text; a spec is a TOML file.") from None
        except OSError as err:
            raise ValueError(f"spec file {str(path)!r} cannot be read ({err.strerror}).") from None
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict) -> "SweepSpec":
        unknown = set(data) - set(SECTIONS)
        for key in unknown:
            if not isinstance(data[key], dict):
                home = "[train]" if key in TRAIN_KEYS else "[sweep]" if key in SWEEP_KEYS else "its section"
                raise ValueError(
                    f"spec: the key {key!r} comes before every [section] header, so it belongs to "
                    f"no section; move it under {home}."
                )
            raise ValueError(
                f"spec: unknown section [{key}].{_checks.closest(key, SECTIONS)} "
                f"Sections are {list(SECTIONS)}."
            )
        for section in ("task", "model"):
            if section not in data:
                raise ValueError(f"spec: the section [{section}] is missing.")
        return cls(**{k: _copy(data.get(k, {})) for k in SECTIONS})

    def to_dict(self) -> dict:
        return json.loads(json.dumps({k: getattr(self, k) for k in SECTIONS}))

    def to_toml(self) -> str:
        return _to_toml(self.to_dict())

    # -- expansion --------------------------------------------------------------------
    def _seeds(self) -> list[int]:
        seeds = self.sweep.get("seeds", 1)
        if isinstance(seeds, bool):
            raise TypeError("spec [sweep] seeds must be a number of seeds or a list of seeds.")
        if isinstance(seeds, int):
            if seeds < 1:
                raise ValueError(f"spec [sweep] seeds={seeds} must be >= 1 (or a list of seeds).")
            if seeds > MAX_MEMBERS:
                raise ValueError(
                    f"spec [sweep] seeds={seeds} is more than the {MAX_MEMBERS:_} members one sweep "
                    "may have; split it into several sweeps (e.g. seeds = [0, 1, ...] in each)."
                )
            return list(range(seeds))
        if isinstance(seeds, list) and seeds and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds):
            if len(set(seeds)) != len(seeds):
                raise ValueError(f"spec [sweep] seeds={seeds} lists a seed twice.")
            return list(seeds)
        raise ValueError(f"spec [sweep] seeds={seeds!r} must be a positive integer or a list of non-negative integers.")

    def _flat(self) -> dict[str, Any]:
        """Every parameter as `section.name -> value`, [sweep.fixed] applied."""
        flat = {}
        for section in ("task", "model", "train"):
            for key, value in getattr(self, section).items():
                flat[f"{section}.{key}"] = value
        fixed = self.sweep.get("fixed", {})
        if not isinstance(fixed, dict):
            raise TypeError("spec [sweep] fixed must be a table of `\"section.name\" = value`.")
        for key, value in fixed.items():
            if key.split(".")[0] not in ("task", "model", "train") or "." not in key:
                raise ValueError(f"spec [sweep.fixed]: {key!r} must be written as 'task.x', 'model.x' or 'train.x'.")
            flat[key] = _Fixed(value)
        derived = self.sweep.get("derived", {})
        if not isinstance(derived, dict):
            raise TypeError("spec [sweep] derived must be a table of `\"section.name\" = \"expression\"`.")
        for key, expr in derived.items():
            if "." not in key or key.split(".")[0] not in ("task", "model", "train"):
                raise ValueError(f"spec [sweep.derived]: {key!r} must be written as 'task.x', 'model.x' or 'train.x'.")
            if not isinstance(expr, str):
                raise TypeError(f"spec [sweep.derived]: {key} must be an expression string, got {expr!r}.")
            flat[key] = "=" + expr
        return flat

    def axes(self) -> list[tuple[tuple[str, ...], list[tuple]]]:
        """The sweep axes: (names varied together, list of value tuples)."""
        flat = self._flat()
        lists = {k: v for k, v in flat.items() if isinstance(v, list)}
        for k, v in lists.items():
            if not v:
                raise ValueError(f"spec {_where(k)}: an empty list is not a sweep axis; give at least one value.")
        zipped = self.sweep.get("zip", [])
        if not isinstance(zipped, list):
            raise TypeError(
                f"spec [sweep] zip={zipped!r} must be a list of lists of parameter names, "
                'e.g. zip = [["model.gamma", "train.learning_rate"]].'
            )
        if zipped and isinstance(zipped[0], str):
            zipped = [zipped]
        axes, used = [], set()
        for names in zipped:
            if not isinstance(names, list) or len(names) < 2:
                raise ValueError(f"spec [sweep] zip entries must list two or more parameters, got {names!r}.")
            for n in names:
                if n not in lists:
                    raise ValueError(
                        f"spec [sweep] zip names {n!r}, which is not a list-valued parameter; "
                        f"list-valued parameters are {sorted(lists)}.{_checks.closest(n, list(lists))}"
                    )
                if n in used:
                    raise ValueError(f"spec [sweep] zip uses {n!r} twice.")
                used.add(n)
            lengths = {n: len(lists[n]) for n in names}
            if len(set(lengths.values())) != 1:
                raise ValueError(f"spec [sweep] zip needs lists of equal length, got {lengths}.")
            axes.append((tuple(names), list(zip(*(lists[n] for n in names)))))
        for name, values in lists.items():
            if name not in used:
                axes.append(((name,), [(v,) for v in values]))
        axes.append((("seed",), [(s,) for s in self._seeds()]))
        return axes

    def expand(self) -> list[Member]:
        """Every member of the sweep, in a fixed order (axes in spec order, seed last)."""
        flat = self._flat()
        axes = self.axes()
        n_members = math.prod(len(values) for _, values in axes)
        if n_members > MAX_MEMBERS:
            sizes = " × ".join(f"{len(values)} {'/'.join(names)}" for names, values in axes)
            raise ValueError(
                f"spec: the sweep has {n_members:_} members ({sizes}), more than the {MAX_MEMBERS:_} "
                "one sweep may have; split it into several sweeps."
            )
        varying = [n for names, _ in axes for n in names]
        short = _short_names([n for n in varying if n != "seed"])
        members = []
        for index, combo in enumerate(itertools.product(*(values for _, values in axes))):
            values = dict(flat)
            for (names, _), chosen in zip(axes, combo):
                for n, v in zip(names, chosen):
                    values[n] = v
            seed = values.pop("seed")
            values = {k: (v.value if isinstance(v, _Fixed) else v) for k, v in values.items()}
            values = _resolve_derived(values, seed)
            sections = {"task": {}, "model": {}, "train": {}}
            for key, value in values.items():
                section, name = key.split(".", 1)
                sections[section][name] = value
            coords = {short[n]: values[n] for n in varying if n != "seed"}
            derived_names = [k for k, v in flat.items() if isinstance(v, str) and v.startswith("=")]
            for k in derived_names:
                coords[_short_names([*short, k])[k]] = values[k]
            coords["seed"] = seed
            members.append(Member(index, seed, sections["task"], sections["model"], sections["train"], coords))
        return members

    def validate(self, *, check_train=None) -> list[Member]:
        """Expand and check every member against the registries; return the members.

        `check_train`, if given, is called once on each distinct validated [train]
        section and raises ValueError or TypeError for values the training layer refuses
        (the planner passes `neurodyn.train.check_train_section`)."""
        members = self.expand()
        checked = []
        cache: dict[tuple[str, str], dict] = {}  # members share most sections: check each once

        def once(kind: str, section: dict, check) -> dict:
            key = (kind, json.dumps(section, sort_keys=True, default=repr))
            if key not in cache:
                cache[key] = check(section)
            return dict(cache[key])

        def check_named(registry, kind):
            def check(section):
                params = dict(section)
                name = params.pop("name")
                return {"name": name, **registry.validate(name, params, context=f"[{kind}] {name}")}

            return check

        for m in members:
            task = once("task", m.task, check_named(TASKS, "task"))
            model = once("model", m.model, check_named(MODELS, "model"))
            train = once("train", m.train, lambda t: _validate_train(t, check_train))
            checked.append(dataclasses.replace(m, task=task, model=model, train=train))
        return checked


def _copy(section):
    """A section's table copied; anything else is left for `SweepSpec` to refuse."""
    return dict(section) if isinstance(section, dict) else section


class _Fixed:
    """A list given as one value (never an axis)."""

    def __init__(self, value):
        self.value = value


def _where(flat_name: str) -> str:
    section, name = flat_name.split(".", 1)
    return f"[{section}] {name}"


def _short_names(names: list[str]) -> dict[str, str]:
    """`model.hidden_size -> hidden_size` unless two sections share the name."""
    bare = [n.split(".", 1)[1] for n in names]
    return {n: (b if bare.count(b) == 1 and b != "seed" else n.replace(".", "_")) for n, b in zip(names, bare)}


def _resolve_derived(values: dict, seed: int) -> dict:
    pending = {k: v[1:] for k, v in values.items() if isinstance(v, str) and v.startswith("=")}
    done = {k: v for k, v in values.items() if k not in pending}
    for _ in range(len(pending) + 1):
        if not pending:
            break
        progressed = False
        for key, expr in list(pending.items()):
            env = _environment(done, seed)
            try:
                needed = names_in(expr)
            except ValueError as err:
                raise ValueError(f"spec {_where(key)}: {err}") from None
            if needed & {k for k in pending} | needed & {k.split(".", 1)[1] for k in pending}:
                continue
            try:
                done[key] = evaluate(expr, env)
            except ValueError as err:
                raise ValueError(f"spec {_where(key)}: {err}") from None
            except (ZeroDivisionError, OverflowError, TypeError) as err:
                raise ValueError(f"spec {_where(key)}: the expression {expr!r} failed ({err}).") from None
            del pending[key]
            progressed = True
        if not progressed:
            raise ValueError(f"spec: derived parameters refer to each other in a cycle: {sorted(pending)}.")
    return done


def _environment(values: dict, seed: int) -> dict:
    env = {"seed": seed}
    bare: dict[str, list] = {}
    for key, value in values.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            env[key] = value
            bare.setdefault(key.split(".", 1)[1], []).append(value)
    for name, vals in bare.items():
        if len(vals) == 1:
            env[name] = vals[0]
    return env


def _validate_train(train: dict, check_train=None) -> dict:
    """Train-section values checked as a `TrainConfig` would (with the field named)."""
    train = dict(train)
    optimizer = train.pop("optimizer", "adam")
    try:
        known_options = set(OPTIMIZERS.get(optimizer).params) - {"learning_rate"}
    except (ValueError, TypeError) as err:
        raise type(err)(f"spec [train]: {err}") from None
    options = {}
    for key in list(train):
        if key in known_options:
            options[key] = train.pop(key)
    for key in train:
        if key not in TRAIN_KEYS and not key.startswith("lr_"):
            allowed = sorted(set(TRAIN_KEYS) | known_options)
            raise ValueError(
                f"spec [train]: unknown parameter {key!r}.{_checks.closest(key, allowed)} "
                f"Allowed for optimizer {optimizer!r}: {allowed}."
            )
    if check_train is not None:
        try:
            check_train({"optimizer": optimizer, **options, **train})
        except (ValueError, TypeError) as err:
            raise type(err)(f"spec [train]: {err}") from None
    return {"optimizer": optimizer, **options, **train}


def _to_toml(data: dict) -> str:
    lines = []
    for section in SECTIONS:
        table = data.get(section, {})
        nested = {k: v for k, v in table.items() if isinstance(v, dict)}
        lines.append(f"[{section}]")
        for key, value in table.items():
            if key not in nested:
                lines.append(f"{key} = {_toml_value(value)}")
        for name, sub in nested.items():
            lines.append(f"\n[{section}.{name}]")
            for key, value in sub.items():
                lines.append(f"{json.dumps(key)} = {_toml_value(value)}")
        lines.append("")
    return "\n".join(lines)


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} to TOML")
