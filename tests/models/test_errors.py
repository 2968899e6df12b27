"""Bad constructor arguments raise errors that name the field, the value and the fix."""

import jax.random as jr
import numpy as np
import pytest

from neurodyn.models import CTRNN, GRU, LSTM, LeakyRateRNN, LowRankRNN, VanillaRNN

KEY = jr.key(0)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(hidden_size=0), ValueError, r"CTRNN: hidden_size must be an integer >= 1, got 0"),
        (dict(input_size=-2), ValueError, r"input_size must be an integer >= 1, got -2"),
        (dict(output_size=2.5), TypeError, r"output_size must be an integer >= 1, got 2.5 of type float"),
        (dict(tau=-1.0), ValueError, r"tau=-1.0 is outside the allowed range \(0, inf\)"),
        (dict(tau=0.0), ValueError, r"tau=0.0 is outside"),
        (dict(tau=0.05, dt=0.1), ValueError, r"tau=0.05 is smaller than dt=0.1.*Use dt <= min\(tau\)"),
        (dict(tau=np.array([1.0, 0.01, 1.0, 1.0]), dt=0.1), ValueError, r"tau=0.01 is smaller than dt=0.1"),
        (dict(tau=np.ones(3)), ValueError, r"tau must be a scalar or have shape \(4,\).*got shape \(3,\)"),
        (dict(dt=0.0), ValueError, r"dt=0.0 is outside the allowed range \(0, inf\)"),
        (dict(activation="tanhh"), ValueError, r"activation='tanhh' is not one of .*Did you mean 'tanh'\?"),
        (dict(formulation="current"), ValueError, r"formulation='current' is not one of \['voltage', 'rate'\]"),
        (dict(solver="rk4"), ValueError, r"solver='rk4' is not one of \['euler', 'heun'\]"),
        (dict(init="xavier"), ValueError, r"init='xavier' is not one of \['gain', 'uniform', 'mup'\]"),
        (dict(noise_std=-0.1), ValueError, r"noise_std=-0.1 is outside the allowed range \[0, inf\)"),
        (dict(noise_std=np.ones(4)), ValueError, r"noise_std must be a scalar, got shape \(4,\)"),
        (dict(gain=-1.0), ValueError, r"gain=-1.0 is outside"),
        (dict(gamma=0.0), ValueError, r"gamma=0.0 is outside the allowed range \(0, inf\)"),
        (dict(excitatory_fraction=1.0, dale=True), ValueError, r"excitatory_fraction=1.0 is outside the allowed range \(0, 1\)"),
        (dict(excitatory_fraction=0.0), ValueError, r"excitatory_fraction=0.0 is outside"),
        (dict(connectivity=0.0), ValueError, r"connectivity=0.0 is outside the allowed range \(0, 1\]"),
        (dict(connectivity=1.5), ValueError, r"connectivity=1.5 is outside"),
        (dict(connectivity=np.ones((4, 3))), ValueError, r"connectivity mask must have shape \(4, 4\).*got shape \(4, 3\)"),
        (dict(connectivity=2 * np.ones((4, 4))), ValueError, r"must contain only 0 and 1, got values \[2.0\]"),
        (dict(connectivity="dense"), TypeError, r"connectivity must be None, a density in \(0, 1\]"),
    ],
)
def test_ctrnn_bad_arguments(kwargs, error, match):
    args = dict(input_size=2, hidden_size=4, output_size=1) | kwargs
    sizes = [args.pop(k) for k in ("input_size", "hidden_size", "output_size")]
    with pytest.raises(error, match=match):
        CTRNN(*sizes, **args, key=KEY)


@pytest.mark.parametrize(
    "cls, kwargs, error, match",
    [
        (LeakyRateRNN, dict(leak="mid"), ValueError, r"LeakyRateRNN: leak='mid' is not one of \['post', 'pre'\]"),
        (LeakyRateRNN, dict(tau=0.5), ValueError, r"tau=0.5 is outside the allowed range \[1, inf\).*tau = 1 is a vanilla RNN"),
        (LeakyRateRNN, dict(init="mup"), ValueError, r"init='mup' is not one of \['uniform', 'gain'\]"),
        (LeakyRateRNN, dict(activation="lrelu"), ValueError, r"activation='lrelu'"),
        (VanillaRNN, dict(activation="sigmoid"), ValueError, r"VanillaRNN: activation='sigmoid' is not one of"),
        (VanillaRNN, dict(hidden_size=True), TypeError, r"hidden_size must be an integer >= 1, got True of type bool"),
        (VanillaRNN, dict(gamma=-1.0), ValueError, r"gamma=-1.0"),
        (GRU, dict(init="mup"), ValueError, r"GRU: init='mup'"),
        (LSTM, dict(hidden_size=0), ValueError, r"LSTM: hidden_size must be an integer >= 1, got 0"),
        (LSTM, dict(noise_std=-1.0), ValueError, r"LSTM: noise_std=-1.0"),
        (LowRankRNN, dict(rank=5), ValueError, r"LowRankRNN: rank=5 exceeds hidden_size=4.*Use rank <= 4"),
        (LowRankRNN, dict(rank=0), ValueError, r"rank must be an integer >= 1, got 0"),
        (LowRankRNN, dict(tau=0.01), ValueError, r"tau=0.01 is smaller than dt=0.1"),
        (LowRankRNN, dict(solver="rk45"), ValueError, r"solver='rk45'"),
    ],
)
def test_other_models_bad_arguments(cls, kwargs, error, match):
    args = dict(input_size=2, hidden_size=4, output_size=1) | kwargs
    sizes = [args.pop(k) for k in ("input_size", "hidden_size", "output_size")]
    with pytest.raises(error, match=match):
        cls(*sizes, **args, key=KEY)


def test_traced_dt_is_rejected_with_a_type_error():
    import equinox as eqx
    import jax.numpy as jnp

    with pytest.raises(TypeError, match=r"dt must be a plain number \(it is static"):
        eqx.filter_vmap(lambda dt: CTRNN(1, 2, 1, dt=dt, key=KEY))(jnp.array([0.1, 0.2]))
