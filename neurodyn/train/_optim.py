"""Optax optimisers by name, with numeric settings as array leaves.

Every optimiser is built with `optax.inject_hyperparams`, so the learning rate and every
other number live in the optimiser state: members of a sweep that differ only in these
numbers share one compiled program. Non-numeric options (`nesterov`, `centered`) and
whether gradients are clipped are part of the compiled structure.
"""

import functools
import inspect

import jax.numpy as jnp
import optax

from .. import _checks
from .._optimizers import OPTIMIZERS
from ._schedules import schedule_value


def split_options(name: str, options: dict) -> tuple[dict, dict]:
    """Split optimiser options into numeric (array leaves) and static ones."""
    _checks.choice("optimizer", "name", name, OPTIMIZERS)
    _, numeric, flags = OPTIMIZERS[name]
    num, static = {}, {}
    for key, value in options.items():
        if key in numeric:
            low, high = numeric[key]
            _checks.in_range(f"optimizer {name!r}", key, value, low=low, high=high)
            num[key] = value
        elif key in flags:
            if not isinstance(value, bool):
                raise TypeError(f"optimizer {name!r}: option {key}={value!r} must be true or false.")
            static[key] = value
        else:
            allowed = list(numeric) + list(flags)
            raise ValueError(
                f"optimizer {name!r}: unknown option {key!r}; allowed options are {allowed}."
                f"{_checks.closest(key, allowed)}"
            )
    return num, static


@functools.lru_cache(maxsize=None)
def _build(
    name,
    numeric_names: tuple[str, ...],
    static_items: tuple,
    clip: bool,
    schedule: str | None = None,
    schedule_names: tuple[str, ...] = (),
    schedule_flags: tuple = (),
    lr_callable=None,
):
    """`name` is an optimiser's name or an `optax.GradientTransformation` used as given."""
    custom = isinstance(name, optax.GradientTransformation)
    factory = None if custom else OPTIMIZERS[name][0]
    static = dict(static_items)
    flags = dict(schedule_flags)

    def inner(**kwargs):
        grad_clip = kwargs.pop("grad_clip", None)
        if custom:
            opt = name
        else:
            numbers = {k[len("lr_"):]: kwargs.pop(k) for k in list(kwargs) if k.startswith("lr_")}
            if lr_callable is not None:
                lr = lr_callable
            else:
                peak = kwargs.pop("learning_rate")
                lr = peak
                if schedule not in (None, "constant"):
                    lr = lambda count: schedule_value(schedule, count, peak, numbers, flags)  # noqa: E731
            opt = factory(learning_rate=lr, **kwargs, **static)
        if clip:
            return optax.chain(optax.clip_by_global_norm(grad_clip), opt)
        return opt

    # inject_hyperparams reads the factory's signature: spell the numeric names out.
    names = (() if custom or lr_callable is not None else ("learning_rate",)) + tuple(numeric_names)
    names += tuple(f"lr_{k}" for k in schedule_names) + (("grad_clip",) if clip else ())
    inner.__signature__ = inspect.Signature(
        [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY) for n in names]
    )
    placeholders = {n: 1.0 for n in names}
    return optax.inject_hyperparams(inner)(**placeholders)


def make_optimizer(name: str, options: dict, *, clip: bool):
    """The optimiser for a group: one object per static structure (cached), so jitted
    training steps never retrace for a new learning rate.

    Numbers are set per member afterwards with `set_hyperparams`.
    """
    numeric, static = split_options(name, options)
    return _build(name, tuple(sorted(numeric)), tuple(sorted(static.items())), clip)


def optimizer_for(config):
    """The group optimiser for a `TrainConfig`: its optimiser (by name or as given), its
    learning-rate schedule and gradient clipping, every number an injected hyperparameter
    (set per member with `set_hyperparams(state, config.numeric())`)."""
    clip = config.grad_clip is not None
    if isinstance(config.optimizer, optax.GradientTransformation):
        return _build(config.optimizer, (), (), clip)
    numeric, static = split_options(config.optimizer, dict(config.optimizer_options))
    numbers, flags = config.schedule_numbers()
    return _build(
        config.optimizer,
        tuple(sorted(numeric)),
        tuple(sorted(static.items())),
        clip,
        config.lr_schedule,
        tuple(sorted(numbers)),
        tuple(sorted(flags.items())),
        config.learning_rate if callable(config.learning_rate) else None,
    )


def set_hyperparams(opt_state, values: dict):
    """Return `opt_state` with its injected hyperparameters replaced by `values`."""
    hyper = dict(opt_state.hyperparams)
    for key, value in values.items():
        if key not in hyper:
            raise ValueError(f"optimizer has no numeric setting {key!r}; it has {sorted(hyper)}.")
        hyper[key] = jnp.asarray(value, dtype=hyper[key].dtype)
    return opt_state._replace(hyperparams=hyper)
