"""The backward pass with dW taken out of the time loop, against autodiff through the scan.

    python experiments/benchmark/hoisted_backward.py [--hidden 256] [--batch 64] [--time 100]

Autodiff through `lax.scan` accumulates dW = Σ_t g_tᵀ φ(h_{t−1}) inside the reversed
loop: one `[H, B]·[B, H]` dot and one H² add per time step (22 % of a training step at
H = 256 on a 2-core CPU, `profile_step.py`). The alternative measured here is a custom
VJP of the whole batched trajectory: the reverse loop carries only the state cotangents
λ_t = g_t + J_{t+1}ᵀ λ_{t+1} (one VJP of the step with respect to the state per time
step), and the parameters' cotangents come from one VJP of the step vmapped over every
(time, trial) pair at once, so dW is a single `[H, T·B]·[T·B, H]` contraction. A
VJP written for this one model would skip that generic VJP: from the state adjoints,
dW, dW_in and db are three contractions (`ctrnn_parameter_cotangents`), timed as well.

Prints the largest difference between the gradients (float64, exact up to rounding)
and the time of each part in float32: the forward scan, autodiff's whole backward, the
hoisted backward and its two halves (state recursion, parameter VJP), the bare dW
contraction, and the CTRNN-specific cotangents with the state recursion. The CTRNN of
the benchmark (voltage form, tanh, Euler), τ not trained.
"""

import argparse
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr

from neurodyn.models import _activations


def forward(model, s0, inputs):
    """States `[batch, time, state]` of `model.step` from `s0[batch]` under `inputs[batch, time]`."""
    step = jax.vmap(model.step)

    def body(s, u):
        s = step(s, u)
        return s, s

    _, states = jax.lax.scan(body, s0, jnp.swapaxes(inputs, 0, 1))
    return jnp.swapaxes(states, 0, 1)


def previous_states(s0, states):
    """The state each step starts from, time-major `[time, batch, state]`: s0, then
    `states[:, :-1]`."""
    return jnp.swapaxes(jnp.concatenate([s0[:, None], states[:, :-1]], axis=1), 0, 1)


@eqx.filter_custom_vjp
def hoisted(primals):
    """`forward`, differentiated by the state recursion plus one parameter VJP."""
    return forward(*primals)


@hoisted.def_fwd
def _hoisted_fwd(perturbed, primals):
    del perturbed
    states = forward(*primals)
    return states, states


def state_cotangents(model, prev, inputs, g):
    """λ `[time, batch, state]` from the time-major previous states, inputs and g."""
    back = jax.vmap(lambda s, u, lam: jax.vjp(lambda s: model.step(s, u), s)[1](lam)[0])

    def body(lam_next, x):
        p, u, gt = x
        lam = gt + back(p, u, lam_next)
        return lam, lam

    _, lams = jax.lax.scan(body, g[-1], (prev[1:], inputs[1:], g[:-1]), reverse=True)
    return jnp.concatenate([lams, g[-1:]], axis=0)


def parameter_vjp(model, prev, inputs, lam):
    """(dmodel, dprev, dinputs) of Σ_{t,b} λ_{t,b}·step(prev_{t,b}, u_{t,b}) in one VJP."""
    _, pull = eqx.filter_vjp(lambda m, p, u: jax.vmap(jax.vmap(m.step))(p, u), model, prev, inputs)
    return pull(lam)


@hoisted.def_bwd
def _hoisted_bwd(states, g, perturbed, primals):
    del perturbed
    model, s0, inputs = primals
    prev = previous_states(s0, states)
    u = jnp.swapaxes(inputs, 0, 1)
    lam = state_cotangents(model, prev, u, jnp.swapaxes(g, 0, 1))
    d_model, d_prev, d_inputs = parameter_vjp(model, prev, u, lam)
    return d_model, d_prev[0], jnp.swapaxes(d_inputs, 0, 1)


def gradients(hidden: int, batch: int, n_time: int, *, hoist: bool, key, **model_kwargs):
    """The loss gradient of a CTRNN (MSE of the readout against random targets)."""
    from neurodyn.models import CTRNN

    k_model, k_x, k_y = jr.split(key, 3)
    model = CTRNN(3, hidden, 3, dt=0.1, key=k_model, **model_kwargs)
    x = jr.normal(k_x, (batch, n_time, 3))
    y = jr.normal(k_y, (batch, n_time, 3))
    params, static = eqx.partition(model, model.trainable())

    def loss(params):
        m = eqx.combine(params, static)
        s0 = jnp.broadcast_to(m.initial_state(), (batch, m.state_size))
        states = hoisted((m, s0, x)) if hoist else jax.vmap(lambda xi: m(xi).state)(x)
        return jnp.mean((jax.vmap(jax.vmap(m.readout))(states) - y) ** 2)

    return jax.jit(jax.grad(loss)), params


def max_difference(hidden: int = 16, batch: int = 4, n_time: int = 20, **model_kwargs) -> float:
    """Largest |hoisted − autodiff| over every gradient leaf (in the current precision)."""
    ref, params = gradients(hidden, batch, n_time, hoist=False, key=jr.key(0), **model_kwargs)
    new, _ = gradients(hidden, batch, n_time, hoist=True, key=jr.key(0), **model_kwargs)
    diffs = jax.tree.map(lambda a, b: jnp.max(jnp.abs(a - b)), ref(params), new(params))
    return float(max(jax.tree.leaves(diffs)))


def max_difference_model_specific(hidden: int = 16, batch: int = 4, n_time: int = 20) -> float:
    """Largest |ctrnn_parameter_cotangents − autodiff| over dW_rec, dW_in and db, each
    relative to the largest entry of autodiff's leaf (one contraction over all steps sums
    in another order than the accumulation through the scan)."""
    from neurodyn.models import CTRNN

    model = CTRNN(3, hidden, 3, dt=0.1, key=jr.key(0))
    x = jr.normal(jr.key(1), (batch, n_time, 3))
    g = jr.normal(jr.key(2), (batch, n_time, hidden))
    s0 = jnp.zeros((batch, hidden))
    states = forward(model, s0, x)
    prev = previous_states(s0, states)
    u = jnp.swapaxes(x, 0, 1)
    lam = state_cotangents(model, prev, u, jnp.swapaxes(g, 0, 1))
    mine = ctrnn_parameter_cotangents(model, prev, u, lam)
    (ref,) = eqx.filter_vjp(lambda m: forward(m, s0, x), model)[1](g)
    return float(max(jnp.max(jnp.abs(a - b)) / jnp.max(jnp.abs(b)) for a, b in zip(mine, (ref.W_rec, ref.W_in, ref.b))))


def ctrnn_parameter_cotangents(model, prev, inputs, lam):
    """dW_rec, dW_in, db of the benchmark's CTRNN (voltage form, Euler, plain W) from the
    state adjoints alone: step(s, u) = s + c ⊙ (W φ(s) + W_in u + b − s) with c = dt/τ, so
    with a = c ⊙ λ, dW = Σ a φ(s)ᵀ, dW_in = Σ a uᵀ and db = Σ a, each one contraction over
    every (time, trial) pair. What a VJP written for this model would compute."""
    phi = _activations.get_activation(model.activation)
    a = (lam * (model.dt / model.effective_tau())).reshape(-1, lam.shape[-1])
    r = phi(prev).reshape(-1, prev.shape[-1])
    u = inputs.reshape(-1, inputs.shape[-1])
    return a.T @ r, a.T @ u, jnp.sum(a, axis=0)


def _time(fn, *args, repeats: int) -> float:
    jax.block_until_ready(fn(*args))
    start = time.perf_counter()
    for _ in range(repeats):
        out = fn(*args)
    jax.block_until_ready(out)
    return (time.perf_counter() - start) / repeats


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--time", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    from neurodyn.models import CTRNN

    with jax.enable_x64(True):
        print(f"float64, H = 16, B = 4, T = 20: largest |hoisted - autodiff| over the gradient = {max_difference():.2e}")
        print(f"float64, H = 16, B = 4, T = 20: largest |CTRNN-specific - autodiff| / largest |autodiff| = {max_difference_model_specific():.2e}")
    H, B, T, n = args.hidden, args.batch, args.time, args.repeats
    model = CTRNN(3, H, 3, dt=0.1, key=jr.key(0))
    x = jr.normal(jr.key(1), (B, T, 3))
    g = jr.normal(jr.key(2), (B, T, H))
    s0 = jnp.zeros((B, H))
    states = jax.jit(forward)(model, s0, x)
    prev = previous_states(s0, states)
    u, gt = jnp.swapaxes(x, 0, 1), jnp.swapaxes(g, 0, 1)

    def autodiff(m):
        return eqx.filter_vjp(lambda m: forward(m, s0, x), m)[1](g)

    rows = {
        "forward scan": _time(jax.jit(forward), model, s0, x, repeats=n),
        "autodiff forward + backward": _time(jax.jit(autodiff), model, repeats=n),
        "hoisted backward": _time(jax.jit(lambda m: hoisted.fn_bwd(states, g, None, (m, s0, x))), model, repeats=n),
        "  state recursion": _time(jax.jit(state_cotangents), model, prev, u, gt, repeats=n),
        "  parameter VJP": _time(jax.jit(parameter_vjp), model, prev, u, gt, repeats=n),
        "  bare dW contraction": _time(jax.jit(lambda a, b: jnp.einsum("tbi,tbj->ij", a, b)), gt, prev, repeats=n),
        "CTRNN-specific parameter cotangents": _time(jax.jit(ctrnn_parameter_cotangents), model, prev, u, gt, repeats=n),
    }
    rows["state recursion + CTRNN-specific"] = rows["  state recursion"] + rows["CTRNN-specific parameter cotangents"]
    rows["autodiff backward (difference)"] = rows["autodiff forward + backward"] - rows["forward scan"]
    print(f"float32, H = {H}, B = {B}, T = {T}, {jax.devices()[0].device_kind}: ms per call")
    for name, seconds in rows.items():
        print(f"  {name:32s} {seconds * 1e3:8.2f}")


if __name__ == "__main__":
    main()
