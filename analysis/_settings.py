"""What every analysis's settings object shares: resolving keywords, plain dicts."""

import dataclasses

import equinox as eqx

from neurodyn import _checks


def _field_names(cls) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def settings_dict(settings: eqx.Module) -> dict:
    """A settings module as nested plain Python values (JSON-ready), keyed by field."""
    out = {}
    for f in dataclasses.fields(settings):
        value = getattr(settings, f.name)
        if isinstance(value, eqx.Module):
            value = settings_dict(value)
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    return out


def resolve(owner: str, cls, settings, keywords: dict):
    """`settings` (or the defaults) of type `cls`, with `keywords` replacing fields."""
    if settings is None:
        settings = cls()
    elif not isinstance(settings, cls):
        raise TypeError(
            f"{owner}: settings must be a {cls.__name__}, got {type(settings).__name__}; "
            f"build one with {cls.__name__}(...)."
        )
    if not keywords:
        return settings
    names = _field_names(cls)
    unknown = [k for k in keywords if k not in names]
    if unknown:
        raise TypeError(
            f"{owner}: unknown setting {unknown[0]!r}.{_checks.closest(unknown[0], names)} "
            f"{cls.__name__} has {list(names)}."
        )
    return cls(**{**{n: getattr(settings, n) for n in names}, **keywords})
