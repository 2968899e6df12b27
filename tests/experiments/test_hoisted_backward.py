"""experiments/benchmark/hoisted_backward.py: the measured alternative backward pass (dW
out of the time loop) gives autodiff's gradient, so its timings compare equal work."""

import importlib.util
import pathlib

import jax
import pytest

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "experiments" / "benchmark" / "hoisted_backward.py"


@pytest.fixture(scope="module")
def hoisted_backward():
    spec = importlib.util.spec_from_file_location("hoisted_backward", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("kwargs", [{}, {"train_tau": True, "train_h0": True, "tau": 0.5}])
def test_hoisted_gradient_equals_autodiff_through_the_scan(hoisted_backward, kwargs):
    with jax.enable_x64(True):
        # every leaf: W_rec, W_in, b, W_out, b_out, and τ and h0 (through s0) when trained
        assert hoisted_backward.max_difference(**kwargs) < 1e-15


def test_ctrnn_specific_parameter_cotangents_equal_autodiff(hoisted_backward):
    with jax.enable_x64(True):
        # dW_rec, dW_in and db from the state adjoints alone, relative to autodiff's
        assert hoisted_backward.max_difference_model_specific() < 1e-14
