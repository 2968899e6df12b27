"""Validation of `evaluate`'s arguments: each message names the argument, the value
received and the fix. Shapes are static, so these checks also run under `jit`."""

import difflib

import jax
import numpy as np

from neurodyn.models import AbstractRNN

METHODS = ("scan", "deer", "quasi_deer", "elk", "quasi_elk", "auto")


def _concrete(value) -> bool:
    return not isinstance(value, jax.core.Tracer)


def check_model(model) -> None:
    if not isinstance(model, AbstractRNN):
        raise TypeError(
            f"evaluate: model must be a neurodyn model (an AbstractRNN), got "
            f"{type(model).__name__}. Build one from neurodyn.models, e.g. VanillaRNN(...)."
        )


def check_method(method) -> str:
    if method not in METHODS:
        match = difflib.get_close_matches(str(method), METHODS, n=1, cutoff=0.5)
        hint = f" Did you mean {match[0]!r}?" if match else ""
        raise ValueError(
            f"evaluate: method={method!r} is not one of {list(METHODS)}.{hint} Use \"scan\" "
            f"for the sequential scan, \"auto\" to let evaluate choose."
        )
    return method


def check_max_iter(max_iter) -> None:
    if max_iter is None:
        return
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)):
        raise TypeError(
            f"evaluate: max_iter must be a Python int >= 1 (it bounds the compiled loop), "
            f"got {max_iter!r} of type {type(max_iter).__name__}."
        )
    if max_iter < 1:
        raise ValueError(
            f"evaluate: max_iter={max_iter} must be >= 1. Pass None for the default "
            f"(the number of time steps, which always suffices for deer and quasi_deer)."
        )


def check_tol(tol) -> None:
    if tol is None or not _concrete(tol):
        return
    if np.ndim(tol) != 0:
        raise ValueError(f"evaluate: tol must be a scalar, got shape {np.shape(tol)}.")
    value = float(tol)
    if not value > 0 or not np.isfinite(value):
        raise ValueError(
            f"evaluate: tol={value!r} must be a finite number > 0 (the largest residual "
            f"|s_t - step(s_(t-1), u_t)| accepted, relative above 1). Use e.g. 1e-5 in float32, 1e-12 in float64."
        )


def check_damping(damping) -> None:
    if _concrete(damping) and (np.ndim(damping) != 0 or not float(damping) >= 0 or not np.isfinite(float(damping))):
        raise ValueError(
            f"evaluate: damping={damping!r} must be a finite scalar >= 0 (the first "
            f"Levenberg-Marquardt lambda of elk; 0 starts as plain deer)."
        )


def check_inputs(model, inputs) -> int:
    shape = np.shape(inputs)
    if len(shape) != 2:
        hint = " Batch trials with jax.vmap over evaluate." if len(shape) == 3 else ""
        raise ValueError(
            f"evaluate: inputs must have shape [time, input] = (T, {model.input_size}) "
            f"for one trial, got shape {shape}.{hint}"
        )
    if shape[1] != model.input_size:
        raise ValueError(
            f"evaluate: inputs has {shape[1]} input channels (shape {shape}) but the model "
            f"takes input_size={model.input_size}. Pass inputs of shape ({shape[0]}, {model.input_size})."
        )
    if shape[0] < 1:
        raise ValueError(f"evaluate: inputs has no time steps (shape {shape}); pass at least one.")
    return shape[0]


def check_state(name: str, value, expected: tuple[int, ...], what: str, fix: str) -> None:
    if value is not None and np.shape(value) != expected:
        raise ValueError(
            f"evaluate: {name} must have shape {expected} ({what}), got shape "
            f"{np.shape(value)}. {fix}"
        )
