"""CTRNN integration against exact answers: expm, convergence orders, diffrax vs scan."""

import diffrax as dfx
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
import scipy.linalg

from neurodyn.models import CTRNN


def _linear_ctrnn(*, dt, solver="euler", tau=None, hidden=4, key=0):
    """A linear voltage CTRNN with a stable random W and per-neuron τ in [0.5, 2]."""
    tau = np.linspace(0.5, 2.0, hidden) if tau is None else tau
    return CTRNN(
        2, hidden, 1, tau=tau, dt=dt, activation="linear", solver=solver, gain=0.8,
        key=jr.key(key),
    )


def _exact(model, h0, u, times):
    """h(t) = exp(A t) h0 + ∫ exp(A s) c ds via the augmented matrix [[A, c], [0, 0]]."""
    tau = np.asarray(model.tau)
    W = np.asarray(model.recurrent_weights())
    A = (W - np.eye(len(tau))) / tau[:, None]
    c = (np.asarray(model.W_in) @ u + np.asarray(model.b)) / tau
    n = len(tau)
    M = np.zeros((n + 1, n + 1))
    M[:n, :n], M[:n, n] = A, c
    y0 = np.append(h0, 1.0)
    return np.stack([(scipy.linalg.expm(M * t) @ y0)[:n] for t in times])


def _constant_run(model, h0, u, n_steps):
    inputs = jnp.broadcast_to(jnp.asarray(u), (n_steps, len(u)))
    return model(inputs, state0=jnp.asarray(h0)).state


H0 = np.array([0.5, -1.0, 0.25, 2.0])
U = np.array([1.0, -0.5])


def test_linear_ctrnn_adaptive_diffrax_matches_expm():
    with jax.enable_x64(True):
        model = _linear_ctrnn(dt=0.1)
        n_steps = 30
        inputs = jnp.broadcast_to(jnp.asarray(U), (n_steps, 2))
        traj = model.integrate(
            inputs,
            solver=dfx.Tsit5(),
            stepsize_controller=dfx.PIDController(rtol=1e-10, atol=1e-12),
            state0=jnp.asarray(H0),
        )
        exact = _exact(model, H0, U, 0.1 * np.arange(1, n_steps + 1))
        np.testing.assert_allclose(np.asarray(traj.state), exact, rtol=0, atol=1e-9)
        # The readout of a linear voltage model is W_out h + b_out.
        expected_y = exact @ np.asarray(model.W_out).T + np.asarray(model.b_out)
        np.testing.assert_allclose(np.asarray(traj.output), expected_y, atol=1e-9)


def test_linear_ctrnn_euler_scan_with_small_dt_matches_expm():
    with jax.enable_x64(True):
        dt, n_steps = 1e-3, 2000
        model = _linear_ctrnn(dt=dt)
        states = _constant_run(model, H0, U, n_steps)
        exact = _exact(model, H0, U, [dt * n_steps])[0]
        # First-order error: |error| ≈ C dt with C = O(1) for this system.
        np.testing.assert_allclose(np.asarray(states[-1]), exact, rtol=0, atol=5 * dt)


@pytest.mark.parametrize("solver, order", [("euler", 1.0), ("heun", 2.0)])
def test_fixed_step_convergence_order(solver, order):
    t_end = 1.0
    dts = [0.04, 0.02, 0.01, 0.005]
    with jax.enable_x64(True):
        errors = []
        for dt in dts:
            model = _linear_ctrnn(dt=dt, solver=solver)
            states = _constant_run(model, H0, U, round(t_end / dt))
            exact = _exact(model, H0, U, [t_end])[0]
            errors.append(np.max(np.abs(np.asarray(states[-1]) - exact)))
    slope = np.polyfit(np.log(dts), np.log(errors), 1)[0]
    assert abs(slope - order) < 0.1, (solver, slope, errors)


def test_diffrax_euler_equals_scan_path():
    model = CTRNN(3, 16, 2, tau=np.linspace(0.5, 1.5, 16), dt=0.1, gain=0.9, key=jr.key(1))
    inputs = jr.normal(jr.key(2), (40, 3))
    state0 = jr.normal(jr.key(3), (16,))
    scan = model(inputs, state0=state0)
    solve = model.integrate(inputs, state0=state0)
    # float32: the solver's step is t1 - t0, which differs from dt by rounding.
    np.testing.assert_allclose(solve.state, scan.state, rtol=0, atol=5e-6)
    np.testing.assert_allclose(solve.output, scan.output, rtol=0, atol=5e-6)


def test_diffrax_heun_equals_scan_path():
    model = CTRNN(3, 16, 2, dt=0.1, solver="heun", gain=0.9, key=jr.key(1))
    inputs = jr.normal(jr.key(2), (40, 3))
    np.testing.assert_allclose(model.integrate(inputs).state, model(inputs).state, atol=5e-6)


def test_one_step_by_hand_both_formulations():
    with jax.enable_x64(True):
        for formulation in ("voltage", "rate"):
            model = CTRNN(
                2, 5, 3, tau=np.linspace(0.3, 1.0, 5), dt=0.1, formulation=formulation,
                init="uniform", key=jr.key(4),
            )
            h, u = np.linspace(-1, 1, 5), np.array([0.3, -0.7])
            W, Win, b = (np.asarray(x) for x in (model.W_rec, model.W_in, model.b))
            tau = np.asarray(model.tau)
            if formulation == "voltage":
                f = (-h + W @ np.tanh(h) + Win @ u + b) / tau
                y = lambda s: np.asarray(model.W_out) @ np.tanh(s) + np.asarray(model.b_out)
            else:
                f = (-h + np.tanh(W @ h + Win @ u + b)) / tau
                y = lambda s: np.asarray(model.W_out) @ s + np.asarray(model.b_out)
            new = model.step(jnp.asarray(h), jnp.asarray(u))
            np.testing.assert_allclose(new, h + 0.1 * f, rtol=1e-12)
            np.testing.assert_allclose(model.readout(new), y(h + 0.1 * f), rtol=1e-12)


def test_mup_ctrnn_is_the_alpha_form_of_science_2():
    """h(t+1) − h(t) = α[−h + (1/N) J φ(h) + U x] with α = dt/τ, readout W_out φ(h)/(γN)."""
    with jax.enable_x64(True):
        n = 8
        model = CTRNN(2, n, 1, dt=0.1, init="mup", gamma=2.0, key=jr.key(5))
        h, u = np.linspace(-1, 1, n), np.array([1.0, -1.0])
        J, U_ = np.asarray(model.W_rec), np.asarray(model.W_in)
        expected = h + 0.1 * (-h + J @ np.tanh(h) / n + U_ @ u)
        np.testing.assert_allclose(model.step(jnp.asarray(h), jnp.asarray(u)), expected, rtol=1e-12)
        np.testing.assert_allclose(model.recurrent_weights(), J / n, rtol=1e-15)
        y = np.asarray(model.W_out) @ np.tanh(h) / (2.0 * n)
        np.testing.assert_allclose(model.readout(jnp.asarray(h)), y, rtol=1e-12)


def test_tau_is_clamped_to_dt_in_forward_and_by_constrain():
    model = CTRNN(1, 3, 1, tau=1.0, dt=0.1, train_tau=True, key=jr.key(6))
    low = eqx.tree_at(lambda m: m.tau, model, jnp.array([0.01, 0.05, 2.0]))
    clamped = eqx.tree_at(lambda m: m.tau, model, jnp.array([0.1, 0.1, 2.0]))
    h, u = jnp.array([0.3, -0.2, 1.0]), jnp.array([0.5])
    assert jnp.array_equal(low.vector_field(0.0, h, u), clamped.vector_field(0.0, h, u))
    assert jnp.array_equal(low.constrain().tau, clamped.tau)
    # Below the clamp τ receives no gradient; above it, it does.
    grad = jax.grad(lambda tau: jnp.sum(eqx.tree_at(lambda m: m.tau, model, tau).step(h, u)))(
        low.tau
    )
    assert grad[0] == 0 and grad[1] == 0 and grad[2] != 0
