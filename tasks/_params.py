"""Constructor helpers for task parameters that are array leaves.

A sweep builds tasks under `vmap` too, so a value may be a tracer; like
`neurodyn._checks.in_range`, these check concrete values and pass tracers through (the
spec layer checks them before they are stacked).
"""

import jax.numpy as jnp
import numpy as np

from neurodyn import _checks


def float_leaf(owner: str, field: str, value, **bounds):
    """`value` as a float array leaf after an `_checks.in_range` check with `bounds`."""
    _checks.in_range(owner, field, value, **bounds)
    return jnp.asarray(value, dtype=float)


def int_leaf(owner: str, field: str, value, *, low: int | None = None, high: int | None = None, fix=""):
    """`value` as an int32 array leaf: integers only, within [low, high]."""
    if _checks.is_concrete(value):
        arr = np.asarray(value)
        if arr.dtype.kind not in "iu":
            raise TypeError(
                f"{owner}: {field} must be an integer (or an integer array), got {value!r}."
            )
        bad = np.zeros(arr.shape, bool)
        if low is not None:
            bad |= arr < low
        if high is not None:
            bad |= arr > high
        if bad.any():
            shown = arr.item() if arr.ndim == 0 else arr[bad].tolist()[:5]
            lo = "(-inf" if low is None else f"[{low}"
            hi = "inf)" if high is None else f"{high}]"
            raise ValueError(
                f"{owner}: {field}={shown} is outside the allowed range {lo}, {hi}."
                + (f" {fix}" if fix else "")
            )
    return jnp.asarray(value, dtype=jnp.int32)


def concrete(value):
    """A numpy copy of `value`, or None when it is a tracer (cross-field checks skip then)."""
    return np.asarray(value) if _checks.is_concrete(value) else None


def ordered(owner: str, low_field: str, low, high_field: str, high, *, strict: bool):
    """Raise when the range [low, high] is inverted (or empty, when `strict`)."""
    lo, hi = concrete(low), concrete(high)
    if lo is None or hi is None:
        return
    bad = np.any(lo >= hi) if strict else np.any(lo > hi)
    if bad:
        relation = "smaller than" if strict else "at most"
        raise ValueError(
            f"{owner}: {low_field}={lo.tolist()} must be {relation} {high_field}={hi.tolist()}; "
            f"the range is inverted{' or empty' if strict else ''}: swap or widen them."
        )
