"""Fixed points of the library's models: GRU, LSTM, and trained flip-flop networks."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
import pytest

from neurodyn.analysis import connect_saddles, find_fixed_points, sample_initial_states
from neurodyn.analysis._fixed_points._points import CONVERGED, STABLE
from neurodyn.models import CTRNN, GRU, LSTM, VanillaRNN
from neurodyn.tasks import FlipFlop

FAST = dict(n_iters=1000, learning_rate=3e-2, max_points=16)


@eqx.filter_jit  # one compiled rollout instead of many eager ops
def _starts(model, n, *, key):
    """Initial states off the model's own trajectories under random input."""
    kin, ksample = jr.split(key)
    inputs = jr.normal(kin, (8, 30, model.input_size))
    states = jax.vmap(lambda x: model(x).state)(inputs)
    return sample_initial_states(states, n, noise_scale=0.1, key=ksample)


@pytest.mark.parametrize("cls", [GRU, LSTM])
def test_gated_models_fixed_points_have_tiny_residuals(cls):
    model = cls(2, 12, 1, key=jr.key(0))
    u = jnp.array([0.3, -0.2])
    fps = find_fixed_points(model, u, _starts(model, 32, key=jr.key(1)), **FAST)
    fixed = np.asarray(fps.valid & ~fps.slow)
    assert fixed.sum() >= 1, str(fps)
    assert fps.points.shape[-1] == model.state_size  # the full state: h and c for an LSTM
    points = np.asarray(fps.points)[fixed]
    residual = np.asarray(jax.vmap(lambda h: model.residual(h, u))(points))
    assert np.abs(residual).max() < 1e-5
    assert np.asarray(fps.q)[fixed].max() < 1e-11


def _train_flipflop(model, task, *, n_steps, learning_rate, key):
    """A plain optax loop on the masked squared error; returns the trained model."""
    params, static = eqx.partition(model, model.trainable())
    opt = optax.adam(learning_rate)

    def loss(params, trial):
        m = eqx.combine(params, static)
        out = jax.vmap(lambda x: m(x).output)(trial.inputs)
        return jnp.sum(trial.mask * (out - trial.targets) ** 2) / jnp.sum(trial.mask)

    @eqx.filter_jit
    def train(params, key):
        def body(carry, k):
            params, state = carry
            grads = jax.grad(loss)(params, task.sample_batch(32, key=k))
            updates, state = opt.update(grads, state, params)
            return (optax.apply_updates(params, updates), state), None

        (params, _), _ = jax.lax.scan(body, (params, opt.init(params)), jr.split(key, n_steps))
        return params

    return eqx.combine(train(params, key), static)


@eqx.filter_jit
def _rollout(model, task, *, key):
    """Accuracy on fresh trials and 256 initial states sampled off their trajectories."""
    ktrial, kstart = jr.split(key)
    trials = task.sample_batch(64, key=ktrial)
    traj = jax.vmap(model)(trials.inputs)
    accuracy = jax.vmap(task.metric)(traj.output, trials).mean()
    return accuracy, sample_initial_states(traj.state, 256, key=kstart)


def _flipflop_analysis(model, task, *, key):
    accuracy, starts = _rollout(model, task, key=key)
    fps = find_fixed_points(model, jnp.zeros(task.input_size), starts, max_points=64)
    return float(accuracy), connect_saddles(model, fps)


@pytest.fixture(scope="session")
def flipflop_vanilla():
    """A small vanilla RNN trained on the 3-bit flip-flop, and its fixed points."""
    task = FlipFlop(n_bits=3, p=0.05, n_time=40)
    model = VanillaRNN(3, 16, 3, key=jr.key(0))
    model = _train_flipflop(model, task, n_steps=500, learning_rate=2e-2, key=jr.key(1))
    accuracy, fps = _flipflop_analysis(model, task, key=jr.key(2))
    return model, accuracy, fps


def _check_flipflop(model, accuracy, fps):
    assert accuracy > 0.99, accuracy
    valid, slow = np.asarray(fps.valid), np.asarray(fps.slow)
    stability = np.asarray(fps.stability)
    patterns = np.sign(np.asarray(jax.vmap(model.readout)(jnp.nan_to_num(fps.points))))
    attractors = np.flatnonzero(valid & ~slow & (stability == STABLE))
    # 2³ attractors, one per output sign pattern.
    assert len(attractors) == 8, str(fps)
    assert len({tuple(p) for p in patterns[attractors]}) == 8
    # Every one-mode saddle joins two attractors whose patterns differ in one bit.
    saddles = np.flatnonzero(np.asarray(fps.has_unstable_vector) & ~slow)
    assert len(saddles) >= 3, str(fps)
    for s in saddles:
        plus, minus = np.asarray(fps.attractors[s])
        assert plus in attractors and minus in attractors and plus != minus, (s, plus, minus)
        assert int(np.sum(patterns[plus] != patterns[minus])) == 1


def test_trained_flipflop_has_eight_attractors_joined_by_one_bit_saddles(flipflop_vanilla):
    _check_flipflop(*flipflop_vanilla)


def test_float32_q_floor_after_newton(flipflop_vanilla):
    # Rounding leaves q ~ N·eps²/2 in float32 (measured 1e-16..3e-14 for these 16 units),
    # well below the reference tol_q = 1e-12; Adam alone stops near 1e-5.
    _, _, fps = flipflop_vanilla
    q = np.asarray(fps.candidate_q)[np.asarray(fps.candidate_status) == CONVERGED]
    assert fps.points.dtype == jnp.float32 and q.size >= 128
    assert np.median(q) < 16 * np.finfo(np.float32).eps ** 2  # 2.3e-13


@pytest.mark.slow
def test_trained_continuous_flipflop_ctrnn():
    # dt = 0.5 τ: a one-step pulse moves the state enough to flip a bit.
    task = FlipFlop(n_bits=3, p=0.05, n_time=60)
    model = CTRNN(3, 32, 3, dt=0.5, key=jr.key(0))
    model = _train_flipflop(model, task, n_steps=1500, learning_rate=1e-2, key=jr.key(1))
    _check_flipflop(model, *_flipflop_analysis(model, task, key=jr.key(2)))
