"""The continuous-time rate network (CTRNN)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from neurodyn import _checks

from . import _activations, _common, _init
from ._base import AbstractContinuousRNN

FORMULATIONS = ("voltage", "rate")
SOLVERS = ("euler", "heun")


class CTRNN(AbstractContinuousRNN):
    """Continuous-time recurrent network, integrated with a fixed step `dt`.

    `formulation="voltage"`: τ ḣ = −h + W φ(h) + W_in u + b,  y = W_out φ(h) + b_out.
    `formulation="rate"`:    τ ṙ = −r + φ(W r + W_in u + b),  y = W_out r + b_out.

    τ is per neuron, used as max(τ, dt) (`constrain` also clamps it). Process noise is
    the SDE dh = F dt + σ √(2/τ) dW per unit, so a leak-only unit has stationary standard
    deviation σ = `noise_std`.

    W = `recurrent_weights()` is the effective matrix: with `dale=True`, |W_rec| times a
    sign per presynaptic neuron (the first round(f_E N) excitatory, the rest inhibitory;
    inhibitory columns start scaled by N_E/N_I so each row's expected input is balanced);
    times the fixed `connectivity` mask; with a zero diagonal if `self_connections=False`;
    divided by N under `init="mup"` (readout then divided by γN). See
    `neurodyn.models._init` for the regimes.

    **Arguments:**

    - `input_size`: number of input channels (the length of u).
    - `hidden_size`: number of units N.
    - `output_size`: number of outputs (the length of y).
    - `tau`: time constant τ, one for all units or one per unit `(hidden,)`, in the
      time units of `dt`; > 0 and ≥ `dt` (an array leaf).
    - `dt`: the fixed integration step, > 0 (static: one compiled program per value).
    - `activation`: φ: "tanh", "relu", "leaky_relu" (slope 0.01), "softplus" or "linear".
    - `formulation`: "voltage" (the state is h, the rates φ(h)) or "rate" (the state is
      the rates r); see the equations above.
    - `solver`: the fixed-step scheme: "euler" or "heun" (second order).
    - `noise_std`: σ of the process noise, ≥ 0 (0: deterministic; an array leaf).
    - `train_tau`: learn τ; otherwise τ is fixed (no gradient).
    - `train_h0`: learn the initial state; otherwise it is zeros.
    - `dale`: impose Dale's law: every neuron excitatory or inhibitory (see above).
    - `excitatory_fraction`: f_E, the fraction of excitatory neurons with `dale=True`,
      in (0, 1).
    - `connectivity`: None (all-to-all); a density in (0, 1], the fraction of
      connections kept, drawn from `key` (weights are not rescaled, so raise `gain` by
      1/√density to keep the spectral radius); or an explicit 0/1 `(hidden, hidden)`
      mask. Fixed, not trained.
    - `self_connections`: keep W's diagonal; False holds it at zero.
    - `init`: the initialisation regime, "gain" (N(0, g²/N), zero biases), "uniform"
      (U(±1/√fan-in), as PyTorch) or "mup" (µP: W used as J/N, readout divided by γN).
    - `gain`: g, the scale of the recurrent draw, ≥ 0 (an array leaf).
    - `gamma`: γ, the µP feature-learning knob: the readout is divided by γN under
      `init="mup"` (unused otherwise); > 0 (an array leaf).
    - `key`: the PRNG key of the weights (and of a density's mask).
    """

    W_rec: Float[Array, "hidden hidden_in"]
    W_in: Float[Array, "hidden input"]
    b: Float[Array, " hidden"]
    W_out: Float[Array, "output hidden"]
    b_out: Float[Array, " output"]
    tau: Float[Array, " hidden"]
    h0: Float[Array, " state"]
    noise_std: Float[Array, ""]
    gain: Float[Array, ""]
    gamma: Float[Array, ""]
    sign: Float[Array, " hidden_in"] | None
    mask: Float[Array, "hidden hidden_in"] | None
    input_size: int = eqx.field(static=True)
    hidden_size: int = eqx.field(static=True)
    output_size: int = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    solver: str = eqx.field(static=True)
    activation: str = eqx.field(static=True)
    formulation: str = eqx.field(static=True)
    init: str = eqx.field(static=True)
    train_tau: bool = eqx.field(static=True)
    train_h0: bool = eqx.field(static=True)
    dale: bool = eqx.field(static=True)
    self_connections: bool = eqx.field(static=True)

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        output_size: int,
        *,
        tau=1.0,
        dt: float = 0.1,
        activation: str = "tanh",
        formulation: str = "voltage",
        solver: str = "euler",
        noise_std=0.0,
        train_tau: bool = False,
        train_h0: bool = False,
        dale: bool = False,
        excitatory_fraction=0.8,
        connectivity=None,
        self_connections: bool = True,
        init: str = "gain",
        gain=1.0,
        gamma=1.0,
        key: PRNGKeyArray,
    ):
        owner = "CTRNN"
        n_in, n, n_out = _common.sizes(owner, input_size, hidden_size, output_size)
        self.input_size, self.hidden_size, self.output_size = n_in, n, n_out
        self.dt = _common.step_size(owner, dt)
        self.solver = _checks.choice(owner, "solver", solver, SOLVERS)
        self.activation = _activations.check_activation(owner, activation)
        self.formulation = _checks.choice(owner, "formulation", formulation, FORMULATIONS)
        self.init = _init.check_init(owner, init)
        self.train_tau, self.train_h0 = bool(train_tau), bool(train_h0)
        self.dale, self.self_connections = bool(dale), bool(self_connections)
        self.tau = _common.time_constants(owner, tau, n, dt=self.dt)
        self.noise_std = _common.scalar_leaf(owner, "noise_std", noise_std, low=0.0)
        self.gain = _common.scalar_leaf(owner, "gain", gain, low=0.0)
        self.gamma = _common.scalar_leaf(owner, "gamma", gamma, low=0.0, low_open=True)
        _checks.in_range(
            owner, "excitatory_fraction", excitatory_fraction, low=0.0, high=1.0,
            low_open=True, high_open=True, fix="Pass the fraction of excitatory neurons, e.g. 0.8.",
        )

        density = _check_connectivity(owner, connectivity, n)

        z = _init.draw(
            self.init, key,
            {"W_rec": (n, n), "W_in": (n, n_in), "b": (n,), "W_out": (n_out, n), "b_out": (n_out,)},
            None if density is None else {"mask": (n, n)},
        )
        W = _init.recurrent(self.init, z["W_rec"], gain=self.gain)
        if density is not None:
            self.mask = (z["mask"] < density).astype(density.dtype)
        elif connectivity is not None:
            self.mask = jnp.asarray(connectivity, dtype=float)
        else:
            self.mask = None
        if self.dale:
            n_exc = jnp.round(jnp.asarray(excitatory_fraction, dtype=float) * n)
            self.sign = jnp.where(jnp.arange(n) < n_exc, 1.0, -1.0)
            # With no excitatory (or no inhibitory) neuron there is nothing to balance.
            balance = jnp.where(n_exc > 0, n_exc / jnp.maximum(n - n_exc, 1.0), 1.0)
            W = jnp.abs(W) * jnp.where(self.sign > 0, 1.0, balance)[None, :]
        else:
            self.sign = None
        if self.mask is not None:
            W = W * self.mask
        if not self.self_connections:
            W = jnp.where(jnp.eye(n, dtype=bool), 0.0, W)
        self.W_rec = W
        self.W_in = _init.input_weights(self.init, z["W_in"])
        self.b = _init.bias(self.init, z["b"], fan_in=n)
        self.W_out = _init.readout(self.init, z["W_out"])
        self.b_out = _init.bias(self.init, z["b_out"], fan_in=n)
        self.h0 = jnp.zeros(n)

    @property
    def non_trainable(self) -> tuple[str, ...]:
        names = ["noise_std", "gain", "gamma", "sign", "mask"]
        if not self.train_tau:
            names.append("tau")
        if not self.train_h0:
            names.append("h0")
        return tuple(names)

    def effective_tau(self) -> Float[Array, " hidden"]:
        """τ as the dynamics use it: max(τ, dt), without gradient unless `train_tau`."""
        tau = jnp.maximum(self.tau, self.dt)
        return tau if self.train_tau else jax.lax.stop_gradient(tau)

    def recurrent_weights(self) -> Float[Array, "hidden hidden_in"]:
        """The effective W (Dale signs, mask, diagonal and the 1/N of "mup" applied)."""
        W = self.W_rec
        if self.dale:
            W = jnp.abs(W) * self.sign[None, :]
        if self.mask is not None:
            W = W * self.mask
        if not self.self_connections:
            W = jnp.where(jnp.eye(self.hidden_size, dtype=bool), 0.0, W)
        if self.init == "mup":
            W = W / self.hidden_size
        return W

    def penalised_weights(self) -> dict[str, Array]:
        return {"W_rec": self.recurrent_weights()}

    def initial_state(self) -> Float[Array, " hidden"]:
        return self.h0 if self.train_h0 else jax.lax.stop_gradient(self.h0)

    def vector_field(self, t, state, u):
        phi = _activations.get_activation(self.activation)
        W = self.recurrent_weights()
        if self.formulation == "voltage":
            target = _common.matvec(W, phi(state)) + _common.matvec(self.W_in, u) + self.b
        else:
            target = phi(_common.matvec(W, state) + _common.matvec(self.W_in, u) + self.b)
        return (target - state) / self.effective_tau()

    def diffusion(self) -> Float[Array, " hidden"]:
        return self.noise_std * jnp.sqrt(2.0 / self.effective_tau())

    def rates(self, state) -> Float[Array, " hidden"]:
        if self.formulation == "voltage":
            return _activations.get_activation(self.activation)(state)
        return state

    def readout(self, state) -> Float[Array, " output"]:
        y = _common.matvec(self.W_out, self.rates(state))
        if self.init == "mup":
            y = y / (self.gamma * self.hidden_size)
        return y + self.b_out

    def constrain(self) -> "CTRNN":
        return eqx.tree_at(lambda m: m.tau, self, jnp.maximum(self.tau, self.dt))


def _check_connectivity(owner: str, connectivity, n: int):
    """Validate `connectivity`; return it as a density array, or None if not a density."""
    if connectivity is None:
        return None
    if isinstance(connectivity, (bool, str)):
        raise TypeError(
            f"{owner}: connectivity must be None, a density in (0, 1] or a ({n}, {n}) 0/1 "
            f"array, got {connectivity!r}."
        )
    if isinstance(connectivity, (list, tuple)):  # e.g. a mask written in a spec
        connectivity = np.asarray(connectivity, dtype=float)
    if jnp.ndim(connectivity) == 0:
        _checks.in_range(
            owner, "connectivity", connectivity, low=0.0, high=1.0, low_open=True,
            fix="A density is the fraction of connections kept; use 1.0 (or None) for all.",
        )
        return jnp.asarray(connectivity, dtype=float)
    if jnp.shape(connectivity) != (n, n):
        raise ValueError(
            f"{owner}: an explicit connectivity mask must have shape ({n}, {n}) "
            f"(hidden, hidden_in), got shape {jnp.shape(connectivity)}."
        )
    if _checks.is_concrete(connectivity):
        values = np.unique(np.asarray(connectivity))
        if not np.all((values == 0) | (values == 1)):
            raise ValueError(
                f"{owner}: an explicit connectivity mask must contain only 0 and 1, got "
                f"values {[float(v) for v in values if v not in (0, 1)][:5]}."
            )
    return None
