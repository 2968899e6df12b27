"""Validation helpers shared by constructors and the spec layer.

Every message names the field, shows the value received, states what is allowed and,
where it can, suggests the fix. Values that are JAX tracers (a constructor called under
`vmap`) cannot be inspected and are checked later, at the spec edge.
"""

import difflib
from collections.abc import Iterable

import jax
import numpy as np


def closest(name: str, options: Iterable[str]) -> str:
    """A ' Did you mean ...?' suffix naming the closest option, or ''."""
    match = difflib.get_close_matches(str(name), [str(o) for o in options], n=1, cutoff=0.5)
    return f" Did you mean {match[0]!r}?" if match else ""


def choice(owner: str, field: str, value, options: Iterable[str]) -> str:
    options = list(options)
    if value not in options:
        raise ValueError(
            f"{owner}: {field}={value!r} is not one of {options}.{closest(value, options)}"
        )
    return value


def is_concrete(value) -> bool:
    leaves = jax.tree_util.tree_leaves(value)
    return not any(isinstance(x, jax.core.Tracer) for x in leaves)


def positive_int(owner: str, field: str, value, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(
            f"{owner}: {field} must be an integer >= {minimum}, got {value!r} "
            f"of type {type(value).__name__}."
        )
    if value < minimum:
        raise ValueError(f"{owner}: {field} must be an integer >= {minimum}, got {value}.")
    return int(value)


def in_range(
    owner: str,
    field: str,
    value,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    fix: str = "",
):
    """Check every element of `value` lies in the interval; skipped for tracers."""
    if value is None or not is_concrete(value):
        return value
    try:
        if isinstance(value, (bool, np.bool_, str, bytes)):
            raise TypeError
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(
            f"{owner}: {field} must be a number, got {value!r} of type {type(value).__name__}."
        ) from None
    bad = ~np.isfinite(arr)
    if low is not None:
        bad |= (arr <= low) if low_open else (arr < low)
    if high is not None:
        bad |= (arr >= high) if high_open else (arr > high)
    if np.any(bad):
        lo = "(-inf" if low is None else ("(" if low_open else "[") + f"{low:g}"
        hi = "inf)" if high is None else f"{high:g}" + (")" if high_open else "]")
        shown = arr if arr.ndim == 0 else arr[bad]
        shown = shown.item() if np.ndim(shown) == 0 else shown.tolist()[:5]
        suffix = f" {fix}" if fix else ""
        raise ValueError(
            f"{owner}: {field}={shown} is outside the allowed range {lo}, {hi}.{suffix}"
        )
    return value
