"""Every model's jaxtyping annotations hold at run time, with one size per name.

The store's dims are read from these annotations, so an annotation that disagrees with
the arrays would mislabel stored data; each check binds a name (hidden, input, output,
state, gates_hidden, …) to one size across the fields, the methods' arguments and their
results, and the sizes the model reports itself.
"""

import dataclasses
import typing

import jax.numpy as jnp
import jax.random as jr
import pytest
from jaxtyping import Array, Float, jaxtyped

from neurodyn.spec import MODELS

IN, HIDDEN, OUT, T = 3, 5, 2, 7
CASES = [
    ("ctrnn", {}),
    ("ctrnn", {"dale": True, "connectivity": 0.5, "noise_std": 0.1, "train_tau": True}),
    ("ctrnn", {"formulation": "rate"}),
    ("leaky_rate", {}),
    ("vanilla", {}),
    ("gru", {}),
    ("lstm", {}),
    ("low_rank", {"rank": 2}),
]
#: methods checked against their annotations, with the arguments they take
METHODS = ("initial_state", "readout", "hidden", "rates", "recurrent_weights", "effective_tau",
           "diffusion", "step", "residual")


def _holds(value, hint) -> bool:
    return isinstance(value, hint) if hint is not typing.Any else True


@pytest.mark.parametrize(("name", "params"), CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_annotations_hold_with_one_size_per_name(name, params):
    model = MODELS.build(name, {"hidden_size": HIDDEN, **params}, input_size=IN, output_size=OUT, key=jr.key(0))
    state = model.initial_state() + 0.1
    u = jnp.ones(IN)
    with jaxtyped("context"):
        # the names the model sizes itself
        for dims, size in (("hidden", HIDDEN), ("hidden_in", HIDDEN), ("input", IN), ("output", OUT),
                           ("state", model.state_size)):
            assert isinstance(jnp.zeros(size), Float[Array, f" {dims}"]), dims
        hints = typing.get_type_hints(type(model))
        checked = 0
        for field in dataclasses.fields(model):
            value = getattr(model, field.name)
            if field.name in hints and hasattr(value, "shape"):
                assert _holds(value, hints[field.name]), (field.name, value.shape, hints[field.name])
                checked += 1
        assert checked >= 4
        for method in METHODS:
            fn = getattr(model, method, None)
            if fn is None:
                continue
            ret = typing.get_type_hints(getattr(type(model), method)).get("return")
            args = {"step": (state, u), "residual": (state, u)}.get(method)
            if args is None:
                args = (state,) if method in ("readout", "hidden", "rates") else ()
            out = fn(*args)
            if ret is not None and hasattr(out, "shape"):
                assert _holds(out, ret), (method, out.shape, ret)
        trajectory = model(jnp.ones((T, IN)))
        assert isinstance(trajectory.state, Float[Array, "time state"])
        assert isinstance(trajectory.output, Float[Array, "time output"])
        outputs, _ = model.chunked_outputs(jnp.ones((T, IN)), chunk=3)
        assert isinstance(outputs, Float[Array, "time output"])
        assert isinstance(jnp.zeros(T), Float[Array, " time"])


def test_a_wrong_annotation_is_caught():
    # the check is not vacuous: a size bound once refuses another
    with jaxtyped("context"):
        assert isinstance(jnp.zeros((HIDDEN, IN)), Float[Array, "hidden input"])
        assert not isinstance(jnp.zeros((HIDDEN + 1,)), Float[Array, " hidden"])
        assert not isinstance(jnp.zeros((IN, HIDDEN)), Float[Array, "hidden input"])
