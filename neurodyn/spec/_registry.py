"""Registries: models, tasks and optimisers by name, with validated parameters.

A registry entry knows a class, its parameters (names and defaults read from the
constructor's signature, descriptions from its docstring's **Arguments:** list) and the
allowed range or choices of each parameter. `validate` fills defaults, coerces numbers
to the parameter's type and rejects anything out of range with a message that names the
field, the value, the allowed range and the closest valid name. Custom classes are
accepted wherever a name is, as an import path `package.module:Class`.
"""

import dataclasses
import importlib
import inspect
import math
import re
from typing import Any

from .. import _checks

_NO_DEFAULT = inspect.Parameter.empty


@dataclasses.dataclass(frozen=True)
class Param:
    """One constructor parameter: its default, type, allowed range and description."""

    name: str
    default: Any = _NO_DEFAULT
    kind: str = "any"  # "int", "float", "bool", "str", "any"
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple | None = None
    nullable: bool = False
    doc: str = ""
    #: a (nested) list of numbers is accepted too, e.g. one value per unit or a mask (in a
    #: spec through [sweep.fixed]); each entry is checked against the range, with
    #: `entry_low_open` in place of `low_open` where given (a mask's 0 entries)
    array: bool = False
    entry_low_open: bool | None = None

    @property
    def required(self) -> bool:
        return self.default is _NO_DEFAULT

    def allowed(self) -> str:
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.kind in ("int", "float") and (self.low is not None or self.high is not None):
            lo = "-inf" if self.low is None else f"{self.low:g}"
            hi = "inf" if self.high is None else f"{self.high:g}"
            lb = "(" if (self.low_open or self.low is None) else "["
            rb = ")" if (self.high_open or self.high is None) else "]"
            text = f"{self.kind} in {lb}{lo}, {hi}{rb}"
        else:
            text = self.kind
        if self.array:
            text += " (or a list of them)"
        return text + (" or none" if self.nullable else "")

    def check(self, owner: str, value):
        """Coerce `value` to this parameter's type and check its range; return it."""
        field = f"{owner}.{self.name}"
        if value is None:
            if self.nullable or self.default is None:
                return None
            raise ValueError(f"{field}: a value is required ({self.allowed()}), got none.")
        if self.choices is not None:
            if value not in self.choices:
                raise ValueError(
                    f"{field}={value!r} is not allowed; expected {self.allowed()}."
                    f"{_checks.closest(str(value), [str(c) for c in self.choices])}"
                )
            return value
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise TypeError(f"{field}={value!r} must be true or false.")
            return value
        if self.kind == "str":
            if not isinstance(value, str):
                raise TypeError(f"{field}={value!r} must be a string.")
            return value
        if self.kind in ("int", "float") and self.array and isinstance(value, (list, tuple)):
            return self._check_entries(field, value)
        if self.kind in ("int", "float"):
            value = _coerce_number(field, value, self.kind)
            bad = not math.isfinite(value)
            if self.low is not None:
                bad |= value <= self.low if self.low_open else value < self.low
            if self.high is not None:
                bad |= value >= self.high if self.high_open else value > self.high
            if bad:
                raise ValueError(f"{field}={value!r} is out of range; allowed: {self.allowed()}.")
            return value
        return value


    def _check_entries(self, field: str, value):
        import numpy as np

        try:
            if any(isinstance(x, bool) for x in np.asarray(value, dtype=object).ravel()):
                raise TypeError
            entries = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            raise TypeError(f"{field}: a list must hold numbers only, in a regular (not ragged) shape.") from None
        if entries.size == 0:
            raise ValueError(f"{field}: an empty list; give a number or a list of numbers.")
        low_open = self.low_open if self.entry_low_open is None else self.entry_low_open
        bad = ~np.isfinite(entries)
        if self.low is not None:
            bad |= entries <= self.low if low_open else entries < self.low
        if self.high is not None:
            bad |= entries >= self.high if self.high_open else entries > self.high
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            lb = "(" if low_open else "["
            raise ValueError(
                f"{field}: entry {list(where)} = {float(entries[where])!r} is out of range; every entry must be "
                f"in {lb}{self.low:g}, {'inf' if self.high is None else format(self.high, 'g')}"
                f"{')' if (self.high_open or self.high is None) else ']'}."
            )
        return value


def _coerce_number(field: str, value, kind: str):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            import numpy as np

            if isinstance(value, np.generic):
                value = value.item()
            else:
                raise TypeError
        except TypeError:
            raise TypeError(
                f"{field}={value!r} must be a number ({kind}), got {type(value).__name__}."
            ) from None
    if kind == "int":
        if isinstance(value, float):
            if not value.is_integer():
                raise TypeError(f"{field}={value!r} must be a whole number.")
            value = int(value)
        return int(value)
    return float(value)


@dataclasses.dataclass(frozen=True)
class Entry:
    """A registered class and the description of its parameters."""

    name: str
    cls: type
    params: dict[str, Param]
    summary: str = ""
    #: parameters supplied by the caller, not the user (e.g. a model's input_size).
    implicit: tuple[str, ...] = ()

    def user_params(self) -> list[Param]:
        return [p for n, p in self.params.items() if n not in self.implicit]


_DOC_BULLET = re.compile(r"- `(\w+)`:\s*(.*)")


def _doc_args(cls) -> dict[str, str]:
    """Descriptions of constructor arguments from `- \\`name\\`: text` docstring bullets.

    A bullet runs to a blank line, the next bullet or a `**Section**` line. The docstrings
    read are those of `cls` and of its bases up to the class whose `__init__` it uses, so
    arguments are described where the constructor is; a subclass's bullet wins.
    """
    mro = cls.__mro__
    owner = next((i for i, k in enumerate(mro) if "__init__" in k.__dict__), 0)
    out: dict[str, str] = {}
    for klass in mro[: owner + 1]:
        doc = klass.__dict__.get("__doc__")
        for name, text in _doc_bullets(inspect.cleandoc(doc) if isinstance(doc, str) else ""):
            out.setdefault(name, text)
    return out


def _doc_bullets(doc: str) -> list[tuple[str, str]]:
    """The `(name, text)` of each top-level `- \\`name\\`: text` bullet of a docstring."""
    found, name, text = [], None, []
    for line in doc.splitlines() + [""]:
        starts_bullet = line.startswith("- ")
        if starts_bullet or not line.strip() or line.startswith("**"):
            if name is not None:
                found.append((name, " ".join(" ".join(text).split())))
            match = _DOC_BULLET.match(line) if starts_bullet else None
            name, text = (match.group(1), [match.group(2)]) if match else (None, [])
        elif name is not None:
            text.append(line)
    return found


def describe(cls, overrides: dict[str, dict] | None = None, implicit: tuple[str, ...] = (), name: str | None = None) -> Entry:
    """Build an `Entry` from a class's constructor signature plus range `overrides`."""
    overrides = overrides or {}
    docs = _doc_args(cls)
    sig = inspect.signature(cls.__init__ if "__init__" in cls.__dict__ else cls)
    params = {}
    for pname, p in sig.parameters.items():
        if pname in ("self", "key") or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        default = p.default
        kind = "any"
        if isinstance(default, bool):
            kind = "bool"
        elif isinstance(default, int):
            kind = "int"
        elif isinstance(default, float):
            kind = "float"
        elif isinstance(default, str):
            kind = "str"
        spec = {"kind": kind, **overrides.get(pname, {})}
        params[pname] = Param(name=pname, default=default, doc=docs.get(pname, ""), **spec)
    unknown = set(overrides) - set(params)
    if unknown:
        raise RuntimeError(f"range table for {cls.__name__} names unknown parameters {sorted(unknown)}")
    summary = (inspect.getdoc(cls) or "").split("\n")[0]
    return Entry(name=name or cls.__name__, cls=cls, params=params, summary=summary, implicit=implicit)


class Registry:
    """Classes of one kind ("model", "task", "optimizer") by name."""

    def __init__(self, kind: str, base: type | None = None, *, custom: str | None = None):
        self.kind = kind
        self.base = base
        # How users bring their own: None for an import path `package.module:Class`,
        # otherwise the sentence that says how (import paths are then refused).
        self.custom = custom
        self._entries: dict[str, Entry] = {}
        self._prefixes: dict[str, tuple] = {}

    def register(self, name: str, entry: Entry):
        self._entries[name] = entry

    def register_prefix(self, prefix: str, resolve, example: str):
        """Resolve names `prefix:rest` with `resolve(rest) -> Entry` (e.g. 'neurogym:GoNogo-v0');
        `example` is the sentence that tells people about them when a name is unknown."""
        self._prefixes[prefix] = (resolve, example)

    def names(self) -> list[str]:
        return list(self._entries)

    def entries(self) -> dict[str, Entry]:
        return dict(self._entries)

    def get(self, name: str) -> Entry:
        """The entry for `name`, or for an import path `package.module:Class`."""
        if not isinstance(name, str):
            raise TypeError(f"{self.kind}: the name must be a string, got {name!r}.")
        if name in self._entries:
            return self._entries[name]
        lowered = {n.lower(): n for n in self._entries}
        if name.lower() in lowered:
            return self._entries[lowered[name.lower()]]
        for entry in self._entries.values():
            if entry.cls.__name__ == name:
                return entry
        prefix, _, rest = name.partition(":")
        if rest and prefix in self._prefixes:
            return self._prefixes[prefix][0](rest)
        if ":" in name and self.custom is None:
            return self._import(name)
        prefixed = "".join(f" {example}" for _, example in self._prefixes.values())
        custom = self.custom or (
            f"A custom class is given by its import path, e.g. "
            f"'my_package.my_module:My{self.kind.capitalize()}'."
        )
        raise ValueError(
            f"unknown {self.kind} {name!r}; known {self.kind}s are {self.names()}."
            f"{_checks.closest(name, self.names())} {custom}{prefixed}"
        )

    def _import(self, path: str) -> Entry:
        module_name, _, attr = path.partition(":")
        if not module_name or not attr or ":" in attr:
            raise ValueError(
                f"{self.kind} {path!r}: an import path is 'package.module:ClassName', with one ':'."
            )
        try:
            module = importlib.import_module(module_name)
        except ImportError as err:
            hint = ""
            if getattr(err, "name", None) == module_name.split(".")[0]:
                hint = " Install it, or put its folder on the Python path (e.g. PYTHONPATH=. when it is here)."
            raise ValueError(f"{self.kind} {path!r}: cannot import module {module_name!r} ({err}).{hint}") from None
        except SyntaxError as err:
            raise ValueError(
                f"{self.kind} {path!r}: module {module_name!r} has a syntax error at "
                f"{err.filename}:{err.lineno} ({err.msg}); fix the module."
            ) from None
        except Exception as err:  # whatever the module raises while it is imported
            raise ValueError(
                f"{self.kind} {path!r}: importing module {module_name!r} raised "
                f"{type(err).__name__}: {err}. Fix the module (it runs when imported)."
            ) from None
        cls = getattr(module, attr, None)
        if cls is None:
            raise ValueError(f"{self.kind} {path!r}: module {module_name!r} has no attribute {attr!r}.")
        if not isinstance(cls, type) or (self.base is not None and not issubclass(cls, self.base)):
            base = f"a subclass of {self.base.__module__.split('._')[0]}.{self.base.__name__}" if self.base else "a class"
            raise ValueError(
                f"{self.kind} {path!r}: {attr} is {type(cls).__name__ if not isinstance(cls, type) else 'the class ' + cls.__name__}, "
                f"not {base}. Point the path at your {self.kind} class."
            )
        missing = sorted(getattr(cls, "__abstractmethods__", ()))
        if missing:
            raise ValueError(
                f"{self.kind} {path!r}: {attr} is abstract: it does not define {missing}. "
                f"Define them in {attr} (or point the path at a concrete {self.kind} class)."
            )
        implicit = next(iter(self._entries.values())).implicit if self._entries else ()
        return describe(cls, implicit=implicit, name=path)

    def validate(self, name: str, params: dict, *, context: str | None = None) -> dict:
        """Defaults filled in, numbers coerced, every value checked; unknown names refused."""
        entry = self.get(name)
        owner = context or f"{self.kind} {entry.name}"
        out = {}
        known = [p.name for p in entry.user_params()]
        for pname, value in params.items():
            if pname not in entry.params or pname in entry.implicit:
                raise ValueError(
                    f"{owner}: unknown parameter {pname!r}.{_checks.closest(pname, known)} "
                    f"Parameters of {entry.name}: {known}."
                )
            out[pname] = entry.params[pname].check(owner, value)
        for p in entry.user_params():
            if p.name not in out:
                if p.required:
                    raise ValueError(f"{owner}: parameter {p.name!r} is required ({p.allowed()}).")
                out[p.name] = p.default
        return out

    def build(self, name: str, params: dict, **implicit):
        """Construct the class with validated `params` plus caller-supplied arguments.

        An error raised by a constructor is reported as a ValueError naming the class
        and the parameters it was given (a custom class's own message is kept)."""
        entry = self.get(name)
        checked = self.validate(name, params)
        try:
            return entry.cls(**implicit, **checked)
        except (ValueError, TypeError):
            raise
        except Exception as err:
            raise ValueError(
                f"{self.kind} {entry.name!r}: its constructor raised {type(err).__name__}: {err} "
                f"(parameters {checked})."
            ) from None
