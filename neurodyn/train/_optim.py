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
def _build(name: str, numeric_names: tuple[str, ...], static_items: tuple, clip: bool):
    factory, _, _ = OPTIMIZERS[name]
    static = dict(static_items)

    def inner(**kwargs):
        grad_clip = kwargs.pop("grad_clip", None)
        opt = factory(**kwargs, **static)
        if clip:
            return optax.chain(optax.clip_by_global_norm(grad_clip), opt)
        return opt

    # inject_hyperparams reads the factory's signature: spell the numeric names out.
    names = ("learning_rate", *numeric_names) + (("grad_clip",) if clip else ())
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


def set_hyperparams(opt_state, values: dict):
    """Return `opt_state` with its injected hyperparameters replaced by `values`."""
    hyper = dict(opt_state.hyperparams)
    for key, value in values.items():
        if key not in hyper:
            raise ValueError(f"optimizer has no numeric setting {key!r}; it has {sorted(hyper)}.")
        hyper[key] = jnp.asarray(value, dtype=hyper[key].dtype)
    return opt_state._replace(hyperparams=hyper)
