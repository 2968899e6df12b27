"""Learning-rate schedules by name, with every number an array leaf.

The formulas are optax's (`optax.linear_schedule`, `cosine_decay_schedule`,
`exponential_decay`, `warmup_cosine_decay_schedule`, `warmup_exponential_decay_schedule`),
written with `jnp` only: optax's own constructors branch in Python on their numbers
(e.g. `decay_steps <= warmup_steps`), which fails when the numbers are traced, and
neurodyn keeps them traced so that members with different schedules share one compiled
program. The peak (or initial) value is always `TrainConfig.learning_rate`; the options
are checked once, on concrete numbers, when the `TrainConfig` is built.
"""

import jax.numpy as jnp

from .. import _checks

_STEPS = {"kind": "steps"}
_NONNEG = {"kind": "float", "low": 0.0}
_POS = {"kind": "float", "low": 0.0, "low_open": True}

#: name -> (numeric options: {name: (kind, required, default)}, boolean options, one-line meaning)
SCHEDULES = {
    "constant": ({}, (), "learning_rate at every step"),
    "linear": (
        {"end_value": (_NONNEG, True, None), "transition_steps": (_STEPS, True, None), "transition_begin": (_STEPS, False, 0)},
        (),
        "learning_rate, then linearly to end_value over transition_steps (after transition_begin)",
    ),
    "cosine_decay": (
        {"decay_steps": (_STEPS, True, None), "alpha": ({"kind": "float", "low": 0.0, "high": 1.0}, False, 0.0),
         "exponent": (_POS, False, 1.0)},
        (),
        "learning_rate · ((1 − alpha) · (½ (1 + cos(π t / decay_steps)))^exponent + alpha), t ≤ decay_steps",
    ),
    "exponential_decay": (
        {"transition_steps": (_STEPS, True, None), "decay_rate": (_POS, True, None),
         "transition_begin": (_STEPS, False, 0), "end_value": (_NONNEG, False, None)},
        ("staircase",),
        "learning_rate · decay_rate^((t − transition_begin) / transition_steps), bounded by end_value",
    ),
    "warmup_cosine_decay": (
        {"init_value": (_NONNEG, False, 0.0), "warmup_steps": (_STEPS, True, None), "decay_steps": (_STEPS, True, None),
         "end_value": (_NONNEG, False, 0.0), "exponent": (_POS, False, 1.0)},
        (),
        "init_value linearly to learning_rate over warmup_steps, then a cosine to end_value at decay_steps",
    ),
    "warmup_exponential_decay": (
        {"init_value": (_NONNEG, False, 0.0), "warmup_steps": (_STEPS, True, None),
         "transition_steps": (_STEPS, True, None), "decay_rate": (_POS, True, None),
         "transition_begin": (_STEPS, False, 0), "end_value": (_NONNEG, False, None)},
        ("staircase",),
        "init_value linearly to learning_rate over warmup_steps, then exponential_decay",
    ),
}


def schedule_names() -> list[str]:
    return list(SCHEDULES)


def check_schedule(owner: str, name, options: dict) -> tuple[dict, dict]:
    """`(numbers, flags)` of a schedule's options, checked; numbers with defaults filled
    (an optional option without a default, e.g. `end_value` of an exponential decay, is
    left out: its presence is part of the compiled structure)."""
    if not isinstance(name, str):
        raise TypeError(f"{owner}: lr_schedule must be a schedule's name, got {name!r}; one of {schedule_names()}.")
    _checks.choice(owner, "lr_schedule", name, SCHEDULES)
    numeric, flags, _ = SCHEDULES[name]
    numbers, static = {}, {}
    for key, value in options.items():
        if key in numeric:
            kind = numeric[key][0]
            if kind["kind"] == "steps":
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                value = _checks.positive_int(owner, f"lr_{key}", value, minimum=0)
            else:
                kind = {k: v for k, v in kind.items() if k != "kind"}
                _checks.in_range(owner, f"lr_{key}", value, **kind)
                value = float(value)
            numbers[key] = value
        elif key in flags:
            if not isinstance(value, bool):
                raise TypeError(f"{owner}: lr_{key}={value!r} must be true or false.")
            static[key] = value
        else:
            allowed = [f"lr_{k}" for k in (*numeric, *flags)]
            raise ValueError(
                f"{owner}: lr_schedule={name!r} has no option lr_{key}.{_checks.closest(f'lr_{key}', allowed)} "
                f"Its options are {allowed or 'none'}."
            )
    for key, (_, required, default) in numeric.items():
        if key not in numbers:
            if required:
                raise ValueError(
                    f"{owner}: lr_schedule={name!r} needs lr_{key} ({SCHEDULES[name][2]})."
                )
            if default is not None:
                numbers[key] = default
    if name in ("warmup_cosine_decay",) and numbers["decay_steps"] <= numbers["warmup_steps"]:
        raise ValueError(
            f"{owner}: lr_decay_steps={numbers['decay_steps']} must exceed lr_warmup_steps="
            f"{numbers['warmup_steps']} (decay_steps counts from step 0, warm-up included)."
        )
    for key in ("transition_steps", "decay_steps"):
        if key in numbers and numbers[key] == 0:
            raise ValueError(f"{owner}: lr_{key} must be at least 1, got 0.")
    return numbers, static


def _linear(t, start, end, steps, begin=0.0):
    frac = jnp.clip(t - begin, 0.0, steps) / jnp.maximum(steps, 1.0)
    return start + (end - start) * frac


def _cosine(t, peak, steps, alpha, exponent):
    t = jnp.minimum(t, steps)
    cosine = 0.5 * (1.0 + jnp.cos(jnp.pi * t / jnp.maximum(steps, 1.0)))
    return peak * ((1.0 - alpha) * cosine**exponent + alpha)


def _exponential(t, peak, steps, rate, begin, staircase, end):
    t = t - begin
    power = t / jnp.maximum(steps, 1.0)
    if staircase:
        power = jnp.floor(power)
    value = jnp.where(t <= 0, peak, peak * rate**power)
    if end is not None:
        value = jnp.where(rate < 1, jnp.maximum(value, end), jnp.minimum(value, end))
    return value


def schedule_value(name: str, count, learning_rate, numbers: dict, flags: dict):
    """The learning rate at optimiser step `count` (a jnp scalar); `numbers` may be traced."""
    t = jnp.asarray(count, jnp.result_type(float))
    lr = jnp.asarray(learning_rate, t.dtype)
    n = {k: jnp.asarray(v, t.dtype) for k, v in numbers.items()}
    staircase = bool(flags.get("staircase", False))
    if name == "constant":
        return lr + 0.0 * t
    if name == "linear":
        return _linear(t, lr, n["end_value"], n["transition_steps"], n["transition_begin"])
    if name == "cosine_decay":
        return _cosine(t, lr, n["decay_steps"], n["alpha"], n["exponent"])
    if name == "exponential_decay":
        return _exponential(t, lr, n["transition_steps"], n["decay_rate"], n["transition_begin"], staircase,
                            n.get("end_value"))
    warm = n["warmup_steps"]
    warmup = _linear(t, n["init_value"], lr, warm)
    if name == "warmup_cosine_decay":
        end = n["end_value"]
        after = _cosine(t - warm, lr, n["decay_steps"] - warm, end / jnp.where(lr > 0, lr, 1.0), n["exponent"])
    elif name == "warmup_exponential_decay":
        after = _exponential(t - warm, lr, n["transition_steps"], n["decay_rate"], n["transition_begin"], staircase,
                             n.get("end_value"))
    else:  # checked when the config was built
        raise ValueError(f"unknown lr_schedule {name!r}")
    return jnp.where(t < warm, warmup, after)
