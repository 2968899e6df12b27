"""The low-rank continuous-time network."""

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from neurodyn import _checks

from . import _activations, _common, _init
from ._base import AbstractContinuousRNN
from ._ctrnn import SOLVERS


class LowRankRNN(AbstractContinuousRNN):
    """Continuous-time network whose connectivity is a rank-R outer product.

        τ ḣ = −h + (m nᵀ / N) φ(h) + W_in u,     y = W_out φ(h) / N

    with m, n `(hidden, rank)`, W_in `(hidden, input)` and W_out `(output, hidden)` all
    N(0, 1) at initialisation. The readout follows the mean-field convention of the
    low-rank literature (a readout vector of O(1) entries averaged over the population),
    so outputs stay O(1) as N grows once the readout aligns with the activity.
    `recurrent_weights()` = m nᵀ / N; the dynamics compute it as m (nᵀ φ(h)) / N.
    τ (scalar or per neuron) is fixed and used as max(τ, dt). Process noise as in
    `CTRNN`: g = `noise_std` · √(2/τ). Reference: Mastrogiuseppe & Ostojic, Neuron 2018;
    Dubreuil et al., Nat. Neurosci. 2022.

    **Arguments:**

    - `input_size`: number of input channels (the length of u).
    - `hidden_size`: number of units N.
    - `output_size`: number of outputs (the length of y).
    - `rank`: R, the number of columns of m and n, 1 ≤ R ≤ N (static).
    - `tau`: time constant τ, one for all units or one per unit `(hidden,)`, in the
      time units of `dt`; > 0 and ≥ `dt`; fixed (an array leaf, never trained).
    - `dt`: the fixed integration step, > 0 (static: one compiled program per value).
    - `activation`: φ: "tanh", "relu", "leaky_relu" (slope 0.01), "softplus" or "linear".
    - `solver`: the fixed-step scheme: "euler" or "heun" (second order).
    - `noise_std`: σ of the process noise, ≥ 0 (0: deterministic; an array leaf).
    - `key`: the PRNG key of m, n, W_in and W_out.
    """

    m: Float[Array, "hidden rank"]
    n: Float[Array, "hidden rank"]
    W_in: Float[Array, "hidden input"]
    W_out: Float[Array, "output hidden"]
    tau: Float[Array, " hidden"]
    noise_std: Float[Array, ""]
    input_size: int = eqx.field(static=True)
    hidden_size: int = eqx.field(static=True)
    output_size: int = eqx.field(static=True)
    rank: int = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    solver: str = eqx.field(static=True)
    activation: str = eqx.field(static=True)

    non_trainable = ("tau", "noise_std")

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        output_size: int,
        *,
        rank: int = 1,
        tau=1.0,
        dt: float = 0.1,
        activation: str = "tanh",
        solver: str = "euler",
        noise_std=0.0,
        key: PRNGKeyArray,
    ):
        owner = "LowRankRNN"
        n_in, size, n_out = _common.sizes(owner, input_size, hidden_size, output_size)
        self.input_size, self.hidden_size, self.output_size = n_in, size, n_out
        self.rank = _checks.positive_int(owner, "rank", rank)
        if self.rank > size:
            raise ValueError(
                f"{owner}: rank={self.rank} exceeds hidden_size={size}; a rank-R matrix "
                f"needs at least R units. Use rank <= {size}."
            )
        self.dt = _common.step_size(owner, dt)
        self.solver = _checks.choice(owner, "solver", solver, SOLVERS)
        self.activation = _activations.check_activation(owner, activation)
        self.tau = _common.time_constants(owner, tau, size, dt=self.dt)
        self.noise_std = _common.scalar_leaf(owner, "noise_std", noise_std, low=0.0)
        # Standard normal draws for every array (the "gain" regime's standard draw).
        z = _init.draw(
            "gain", key,
            {"m": (size, self.rank), "n": (size, self.rank), "W_in": (size, n_in), "W_out": (n_out, size)},
        )
        self.m, self.n, self.W_in, self.W_out = z["m"], z["n"], z["W_in"], z["W_out"]

    def effective_tau(self) -> Float[Array, " hidden"]:
        """τ as the dynamics use it: max(τ, dt), without gradient (τ is fixed)."""
        return jax.lax.stop_gradient(jnp.maximum(self.tau, self.dt))

    def recurrent_weights(self) -> Float[Array, "hidden hidden_in"]:
        """The effective W = m nᵀ / N."""
        return self.m @ self.n.T / self.hidden_size

    def penalised_weights(self) -> dict[str, Array]:
        return {"W_rec": self.recurrent_weights()}

    def vector_field(self, t, state, u):
        r = self.rates(state)
        recurrent = _common.matvec(self.m, r @ self.n) / self.hidden_size
        return (recurrent + _common.matvec(self.W_in, u) - state) / self.effective_tau()

    def diffusion(self) -> Float[Array, " hidden"]:
        return self.noise_std * jnp.sqrt(2.0 / self.effective_tau())

    def rates(self, state) -> Float[Array, " hidden"]:
        return _activations.get_activation(self.activation)(state)

    def readout(self, state) -> Float[Array, " output"]:
        return _common.matvec(self.W_out, self.rates(state)) / self.hidden_size

    def constrain(self) -> "LowRankRNN":
        return eqx.tree_at(lambda m: m.tau, self, jnp.maximum(self.tau, self.dt))
