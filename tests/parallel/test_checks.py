"""Invalid arguments to `evaluate` fail before any tracing, with messages that name the
argument, show what was received and say how to fix it."""

import jax.numpy as jnp
import jax.random as jr
import pytest

from neurodyn.models import LSTM, VanillaRNN
from neurodyn.parallel import METHODS, evaluate


@pytest.fixture(scope="module")
def model():
    return VanillaRNN(2, 4, 1, key=jr.key(0))


@pytest.fixture(scope="module")
def inputs():
    return jnp.zeros((10, 2))


def test_methods_are_the_documented_ones():
    assert METHODS == ("scan", "deer", "quasi_deer", "elk", "quasi_elk", "auto")


def test_unknown_method_suggests_the_closest(model, inputs):
    with pytest.raises(ValueError, match=r"method='deeer' is not one of .*Did you mean 'deer'\?"):
        evaluate(model, inputs, method="deeer")
    with pytest.raises(ValueError, match=r"method='newton' is not one of .*Use \"scan\""):
        evaluate(model, inputs, method="newton")


def test_model_must_be_a_neurodyn_model(inputs):
    with pytest.raises(TypeError, match=r"model must be a neurodyn model .*got function"):
        evaluate(lambda h, u: h, inputs)


@pytest.mark.parametrize("max_iter", [0, -3])
def test_max_iter_must_be_positive(model, inputs, max_iter):
    with pytest.raises(ValueError, match=rf"max_iter={max_iter} must be >= 1\. Pass None for the default"):
        evaluate(model, inputs, method="deer", max_iter=max_iter)


@pytest.mark.parametrize("max_iter", [2.5, True, jnp.asarray(3)])
def test_max_iter_must_be_an_int(model, inputs, max_iter):
    with pytest.raises(TypeError, match=r"max_iter must be a Python int >= 1"):
        evaluate(model, inputs, method="deer", max_iter=max_iter)


@pytest.mark.parametrize("tol", [0.0, -1e-6, float("nan"), float("inf")])
def test_tol_must_be_finite_and_positive(model, inputs, tol):
    with pytest.raises(ValueError, match=r"tol=.* must be a finite number > 0 .*Use e\.g\. 1e-5 in float32"):
        evaluate(model, inputs, method="deer", tol=tol)


def test_tol_must_be_a_scalar(model, inputs):
    with pytest.raises(ValueError, match=r"tol must be a scalar, got shape \(2,\)"):
        evaluate(model, inputs, method="deer", tol=jnp.ones(2))


@pytest.mark.parametrize("damping", [-1.0, float("nan")])
def test_damping_must_be_non_negative(model, inputs, damping):
    with pytest.raises(ValueError, match=r"damping=.* must be a finite scalar >= 0 .*0 starts as plain deer"):
        evaluate(model, inputs, method="elk", damping=damping)


def test_batched_inputs_point_to_vmap(model):
    with pytest.raises(ValueError, match=r"inputs must have shape \[time, input\] = \(T, 2\) .*got shape \(3, 10, 2\)\. Batch trials with jax\.vmap"):
        evaluate(model, jnp.zeros((3, 10, 2)))


def test_wrong_input_channels(model):
    with pytest.raises(ValueError, match=r"inputs has 3 input channels .*input_size=2\. Pass inputs of shape \(10, 2\)"):
        evaluate(model, jnp.zeros((10, 3)))


def test_empty_trial(model):
    with pytest.raises(ValueError, match=r"inputs has no time steps \(shape \(0, 2\)\)"):
        evaluate(model, jnp.zeros((0, 2)))


def test_state0_shape_is_the_full_state():
    lstm = LSTM(2, 4, 1, key=jr.key(0))  # state = (h, c): 8 numbers
    with pytest.raises(ValueError, match=r"state0 must have shape \(8,\) .*got shape \(4,\)\. Pass one state like model\.initial_state\(\)"):
        evaluate(lstm, jnp.zeros((10, 2)), state0=jnp.zeros(4))


def test_guess_must_be_a_whole_trajectory(model, inputs):
    with pytest.raises(ValueError, match=r"guess must have shape \(10, 4\) .*got shape \(9, 4\)\. Pass the states of an earlier trajectory"):
        evaluate(model, inputs, method="deer", guess=jnp.zeros((9, 4)))


def test_parallel_must_be_a_bool(model, inputs):
    with pytest.raises(TypeError, match=r"parallel must be None, True or False, got 'yes'"):
        evaluate(model, inputs, parallel="yes")
