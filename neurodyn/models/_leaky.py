"""The discrete leaky rate network of the timescales study."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, PRNGKeyArray

from neurodyn import _checks

from . import _activations, _common, _init
from ._base import AbstractDiscreteRNN

LEAKS = ("post", "pre")


class LeakyRateRNN(AbstractDiscreteRNN):
    """Discrete leaky rate network with one trainable time constant per neuron.

    z = W r + W_in x + b (+ `noise_std` · N(0, 1) when a key is given), then

    - `leak="post"`: r ← (1 − 1/τ) r + (1/τ) f(z)
    - `leak="pre"`:  r ← f((1 − 1/τ) r + z/τ)

    and y = W_out r + b_out. τ is used as max(τ, 1) (`constrain` clamps it too); τ = 1
    is exactly a `VanillaRNN` with the same weights. `tau=None` draws τ_i = 1 + U(0, 1)
    from `key`. Self-connections are off by default (W's diagonal is held at zero).
    Reference: Khajehabdollahi, Zeraati, … Levina, ICLR 2024 (docs/studies/timescales.md).

    **Arguments:**

    - `input_size`: number of input channels (the length of x).
    - `hidden_size`: number of units N.
    - `output_size`: number of outputs (the length of y).
    - `leak`: where the leak acts, "post" (on the rates) or "pre" (inside f); see above.
    - `tau`: None draws τ_i = 1 + U(0, 1) from `key`; otherwise one τ for all units or
      one per unit `(hidden,)`, in steps, each ≥ 1 (an array leaf).
    - `train_tau`: learn τ; False holds it fixed (no gradient).
    - `activation`: f: "leaky_relu" (slope 0.01), "tanh", "relu", "softplus" or
      "linear".
    - `self_connections`: keep W's diagonal; False holds it at zero.
    - `noise_std`: standard deviation of the noise added to z at every step when a key
      is given, ≥ 0 (an array leaf).
    - `init`: the initialisation regime, "uniform" (U(±1/√fan-in), as PyTorch) or
      "gain" (N(0, g²/N), zero biases); see `neurodyn.models._init`.
    - `gain`: g, the scale of the recurrent draw, ≥ 0 (an array leaf).
    - `key`: the PRNG key of the weights (and of the drawn τ).
    """

    W_rec: Float[Array, "hidden hidden_in"]
    W_in: Float[Array, "hidden input"]
    b: Float[Array, " hidden"]
    W_out: Float[Array, "output hidden"]
    b_out: Float[Array, " output"]
    tau: Float[Array, " hidden"]
    noise_std: Float[Array, ""]
    gain: Float[Array, ""]
    input_size: int = eqx.field(static=True)
    hidden_size: int = eqx.field(static=True)
    output_size: int = eqx.field(static=True)
    leak: str = eqx.field(static=True)
    activation: str = eqx.field(static=True)
    init: str = eqx.field(static=True)
    train_tau: bool = eqx.field(static=True)
    self_connections: bool = eqx.field(static=True)

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        output_size: int,
        *,
        leak: str = "post",
        tau=None,
        train_tau: bool = True,
        activation: str = "leaky_relu",
        self_connections: bool = False,
        noise_std=0.0,
        init: str = "uniform",
        gain=1.0,
        key: PRNGKeyArray,
    ):
        owner = "LeakyRateRNN"
        n_in, n, n_out = _common.sizes(owner, input_size, hidden_size, output_size)
        self.input_size, self.hidden_size, self.output_size = n_in, n, n_out
        self.leak = _checks.choice(owner, "leak", leak, LEAKS)
        self.activation = _activations.check_activation(owner, activation)
        self.init = _init.check_init(owner, init, ("uniform", "gain"))
        self.train_tau, self.self_connections = bool(train_tau), bool(self_connections)
        self.noise_std = _common.scalar_leaf(owner, "noise_std", noise_std, low=0.0)
        self.gain = _common.scalar_leaf(owner, "gain", gain, low=0.0)
        z = _init.draw(
            self.init, key,
            {"W_rec": (n, n), "W_in": (n, n_in), "b": (n,), "W_out": (n_out, n), "b_out": (n_out,)},
            {"tau": (n,)} if tau is None else None,
        )
        if tau is None:
            self.tau = 1.0 + z["tau"]
        else:
            _checks.in_range(
                owner, "tau", tau, low=1.0,
                fix="A discrete leak needs tau >= 1 (tau = 1 is a vanilla RNN); "
                "pass tau=None for the default 1 + U(0, 1).",
            )
            self.tau = _common.per_neuron(owner, "tau", tau, n)
        W = _init.recurrent(self.init, z["W_rec"], gain=self.gain)
        if not self.self_connections:
            W = jnp.where(jnp.eye(n, dtype=bool), 0.0, W)
        self.W_rec = W
        self.W_in = _init.input_weights(self.init, z["W_in"])
        self.b = _init.bias(self.init, z["b"], fan_in=n)
        self.W_out = _init.readout(self.init, z["W_out"])
        self.b_out = _init.bias(self.init, z["b_out"], fan_in=n)

    @property
    def non_trainable(self) -> tuple[str, ...]:
        names = ("noise_std", "gain")
        return names if self.train_tau else names + ("tau",)

    def effective_tau(self) -> Float[Array, " hidden"]:
        """τ as the dynamics use it: max(τ, 1), without gradient unless `train_tau`."""
        tau = jnp.maximum(self.tau, 1.0)
        return tau if self.train_tau else jax.lax.stop_gradient(tau)

    def recurrent_weights(self) -> Float[Array, "hidden hidden_in"]:
        """The effective W (zero diagonal unless `self_connections`)."""
        if self.self_connections:
            return self.W_rec
        return jnp.where(jnp.eye(self.hidden_size, dtype=bool), 0.0, self.W_rec)

    def penalised_weights(self) -> dict[str, Array]:
        return {"W_rec": self.recurrent_weights()}

    def step(self, state, u, *, key=None):
        f = _activations.get_activation(self.activation)
        z = _common.matvec(self.recurrent_weights(), state) + _common.matvec(self.W_in, u) + self.b
        if key is not None:
            z = z + self.noise_std * jr.normal(key, z.shape, dtype=z.dtype)
        tau = self.effective_tau()
        if self.leak == "post":
            return (1.0 - 1.0 / tau) * state + (1.0 / tau) * f(z)
        return f((1.0 - 1.0 / tau) * state + z / tau)

    def readout(self, state) -> Float[Array, " output"]:
        return _common.matvec(self.W_out, state) + self.b_out

    def constrain(self) -> "LeakyRateRNN":
        return eqx.tree_at(lambda m: m.tau, self, jnp.maximum(self.tau, 1.0))
