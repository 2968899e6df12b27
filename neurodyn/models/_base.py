"""The one interface every recurrent model shares.

A model maps one trial's inputs `[time, input]` to a `Trajectory`; batches and members
come only from `vmap`. Concrete models are their fields plus one method (`step` for
discrete models, `vector_field` for continuous ones); everything else lives here.
"""

import abc
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, PRNGKeyArray

from neurodyn._types import Trajectory

State = Float[Array, " state"]
Input = Float[Array, " input"]


class AbstractRNN(eqx.Module):
    """Base of every recurrent model.

    Subclasses provide `step(state, u, *, key=None)` and `readout(state)`; `step` must be
    deterministic when `key` is None, so analyses see the noise-free dynamics.

    Class attributes that subclasses may set:

    - `non_trainable`: names of array fields the optimiser must not touch (masks, signs,
      fixed time constants).
    - `penalised`: names of the weight fields L1 / L2 / nuclear penalties apply to.
    """

    input_size: eqx.AbstractVar[int]
    hidden_size: eqx.AbstractVar[int]
    output_size: eqx.AbstractVar[int]

    non_trainable: ClassVar[tuple[str, ...]] = ()
    penalised: ClassVar[tuple[str, ...]] = ("W_rec",)

    @property
    def state_size(self) -> int:
        """Length of the full recurrent state (h, or h and c for an LSTM)."""
        return self.hidden_size

    def initial_state(self) -> State:
        """The state before the first input: zeros unless the model learns one."""
        return jnp.zeros(self.state_size)

    @abc.abstractmethod
    def step(self, state: State, u: Input, *, key: PRNGKeyArray | None = None) -> State:
        """Advance the state by one step under input `u`; noise only when `key` is given."""

    @abc.abstractmethod
    def readout(self, state: State) -> Float[Array, " output"]:
        """The output read from a state."""

    def hidden(self, state: State) -> Float[Array, " hidden"]:
        """The hidden part of the full state (the state itself for most models)."""
        return state[: self.hidden_size]

    def rates(self, state: State) -> Float[Array, " hidden"]:
        """Firing rates of the hidden units, used by the rate penalty."""
        return self.hidden(state)

    def constrain(self) -> "AbstractRNN":
        """Project parameters back onto their allowed set after an optimiser update."""
        return self

    def __call__(
        self,
        inputs: Float[Array, "time input"],
        *,
        key: PRNGKeyArray | None = None,
        state0: State | None = None,
    ) -> Trajectory:
        """Run the model over one trial.

        **Arguments:**

        - `inputs`: `[time, input]`.
        - `key`: process noise is drawn only when a key is given.
        - `state0`: the starting state; `initial_state()` when None.

        **Returns:** a `Trajectory` whose row `t` is the state (and readout) after the
        input of step `t` has been taken in.
        """
        h = self.initial_state() if state0 is None else state0
        n_time = inputs.shape[0]
        if key is None:

            def body(h, u):
                h = self.step(h, u)
                return h, h

            _, states = jax.lax.scan(body, h, inputs)
        else:
            keys = jr.split(key, n_time)

            def body(h, xs):
                u, k = xs
                h = self.step(h, u, key=k)
                return h, h

            _, states = jax.lax.scan(body, h, (inputs, keys))
        outputs = jax.vmap(self.readout)(states)
        return Trajectory(state=states, output=outputs)

    def chunked_outputs(
        self,
        inputs: Float[Array, "time input"],
        *,
        chunk: int,
        key: PRNGKeyArray | None = None,
        state0: State | None = None,
    ) -> tuple[Float[Array, "time output"], Float[Array, ""]]:
        """The readout of one trial, light on memory when differentiated.

        The same steps and noise as `__call__` (same key → same numbers), run as a scan
        over chunks of `chunk` steps, each under `jax.checkpoint`: reverse-mode autodiff
        keeps one state per chunk and recomputes a chunk's steps in the backward pass, so
        memory grows like T / chunk + chunk instead of T. States are not kept; the sum of
        squared rates (for the rate penalty) is accumulated instead. Steps left over
        after the last whole chunk run as one more (shorter) chunk.

        **Returns:** outputs `[time, output]` and Σ_t Σ_i rate_i(t)².
        """
        h = self.initial_state() if state0 is None else state0
        n_time = inputs.shape[0]
        keys = None if key is None else jr.split(key, n_time)

        def body(h, xs):
            u, k = xs
            h = self.step(h, u, key=k)
            r = self.rates(h)
            return h, (self.readout(h), jnp.sum(r * r))

        @jax.checkpoint
        def run(h, xs):
            h, (y, sq) = jax.lax.scan(body, h, xs)
            return h, (y, jnp.sum(sq))

        def split(x, n_whole):
            if x is None:
                return None, None
            head = x[: n_whole * chunk].reshape(n_whole, chunk, *x.shape[1:])
            return head, x[n_whole * chunk :]

        n_whole = n_time // chunk
        u_head, u_tail = split(inputs, n_whole)
        k_head, k_tail = split(keys, n_whole)
        outputs, total = [], 0.0
        if n_whole:
            h, (y, sq) = jax.lax.scan(run, h, (u_head, k_head))
            outputs.append(y.reshape(n_whole * chunk, -1))
            total = total + jnp.sum(sq)
        if n_time - n_whole * chunk:
            h, (y, sq) = run(h, (u_tail, k_tail))
            outputs.append(y)
            total = total + sq
        return jnp.concatenate(outputs, axis=0), total

    def trainable(self):
        """A filter spec (pytree of bools) marking the leaves the optimiser may update."""
        spec = jax.tree_util.tree_map(eqx.is_inexact_array, self)
        for name in self.non_trainable:
            if getattr(self, name, None) is not None:
                spec = eqx.tree_at(
                    lambda m, name=name: getattr(m, name),
                    spec,
                    replace=jax.tree_util.tree_map(lambda _: False, getattr(self, name)),
                )
        return spec

    def penalised_weights(self) -> dict[str, Array]:
        """The effective weights that weight penalties act on, by field name."""
        return {name: getattr(self, name) for name in self.penalised if getattr(self, name, None) is not None}


class AbstractDiscreteRNN(AbstractRNN):
    """A model defined by its map `state -> step(state, u)`.

    Fixed points solve `step(h, u) - h = 0`; linear stability needs all |λ| < 1.
    """

    def residual(self, state: State, u: Input) -> State:
        """F(h) = step(h, u) - h, zero at fixed points (noise-free)."""
        return self.step(state, u) - state


class AbstractContinuousRNN(AbstractRNN):
    """A model defined by its vector field dh/dt = F(t, h, u) and integrated in time.

    Training integrates with a fixed step `dt` through `step` (`solver = "euler"` or
    `"heun"`), scanned over time; `integrate` hands the same vector field to any
    diffrax solver (adaptive steps, SDE noise through a `VirtualBrownianTree`). Process
    noise is the SDE dh = F dt + g dW with g = `diffusion()`.
    """

    dt: eqx.AbstractVar[float]
    solver: eqx.AbstractVar[str]

    @abc.abstractmethod
    def vector_field(self, t, state: State, u: Input) -> State:
        """dh/dt at state `state` under constant input `u` (noise-free)."""

    def diffusion(self) -> Float[Array, " state"]:
        """Per-unit diffusion g of the SDE dh = F dt + g dW; zeros when noise-free."""
        return jnp.zeros(self.state_size)

    def residual(self, state: State, u: Input) -> State:
        """F(h) = dh/dt, zero at fixed points (noise-free)."""
        return self.vector_field(0.0, state, u)

    def step(self, state: State, u: Input, *, key: PRNGKeyArray | None = None) -> State:
        """One fixed step of length `dt` (Euler or Heun; Euler-Maruyama with noise)."""
        f0 = self.vector_field(0.0, state, u)
        if self.solver == "euler":
            new = state + self.dt * f0
        elif self.solver == "heun":
            f1 = self.vector_field(self.dt, state + self.dt * f0, u)
            new = state + 0.5 * self.dt * (f0 + f1)
        else:  # pragma: no cover - constructors validate the name
            raise ValueError(f"unknown fixed-step solver {self.solver!r}")
        if key is not None:
            noise = jr.normal(key, state.shape, dtype=state.dtype)
            new = new + self.diffusion() * jnp.sqrt(self.dt) * noise
        return new

    @eqx.filter_jit
    def integrate(
        self,
        inputs: Float[Array, "time input"],
        *,
        solver=None,
        stepsize_controller=None,
        dt0: float | None = None,
        adjoint=None,
        max_steps: int | None = 16**4,
        key: PRNGKeyArray | None = None,
        state0: State | None = None,
    ) -> Trajectory:
        """Integrate over one trial with diffrax.

        The input is piecewise constant: `inputs[k]` acts on [k dt, (k+1) dt], integrated
        as its own solve (so `max_steps` is per interval). States are saved at
        t = (k+1) dt, so the result lines up with `__call__`. Compiled with
        `eqx.filter_jit`: tracing a diffrax solve takes seconds, so repeated eager calls
        (analyses, notebooks) reuse the compiled program.

        **Arguments:**

        - `solver`: any diffrax solver; `Euler()` by default (or `Heun()` if the model's
          fixed-step solver is Heun).
        - `stepsize_controller`: e.g. `diffrax.PIDController(rtol, atol)` for adaptive
          steps; a constant step of `dt0` (default `dt`) otherwise.
        - `key`: with a key, process noise is integrated as an SDE driven by a
          `VirtualBrownianTree` (use an SDE-capable solver such as `Euler`, `Heun`, `SRA1`).
        """
        import diffrax as dfx
        import lineax as lx

        n_time = inputs.shape[0]
        h0 = self.initial_state() if state0 is None else state0
        dt = self.dt
        if solver is None:
            solver = dfx.Heun() if self.solver == "heun" else dfx.Euler()
        if stepsize_controller is None:
            stepsize_controller = dfx.ConstantStepSize()
        if dt0 is None:
            dt0 = dt
        if adjoint is None:
            adjoint = dfx.RecursiveCheckpointAdjoint()

        # One solve per input interval [k dt, (k+1) dt] with u = inputs[k] as args: the
        # vector field never sees the next input, even at a stage evaluated at the
        # interval's end (Heun's second stage, Tsit5's last), and adaptive solvers never
        # step across an input discontinuity.
        drift = dfx.ODETerm(lambda t, h, u: self.vector_field(t, h, u))
        if key is None:
            terms = drift
        else:
            bm = dfx.VirtualBrownianTree(0.0, n_time * dt, tol=dt / 8, shape=h0.shape, key=key)
            g = self.diffusion()
            # Independent noise per unit: a diagonal diffusion operator.
            diffusion = dfx.ControlTerm(lambda t, h, u: lx.DiagonalLinearOperator(g), bm)
            terms = dfx.MultiTerm(drift, diffusion)

        def interval(h, xs):
            k, u = xs
            sol = dfx.diffeqsolve(
                terms,
                solver,
                t0=k * dt,
                t1=(k + 1) * dt,
                dt0=dt0,
                y0=h,
                args=u,
                saveat=dfx.SaveAt(t1=True),
                stepsize_controller=stepsize_controller,
                adjoint=adjoint,
                max_steps=max_steps,
            )
            h = sol.ys[-1]
            return h, h

        _, states = jax.lax.scan(interval, h0, (jnp.arange(n_time), inputs))
        outputs = jax.vmap(self.readout)(states)
        return Trajectory(state=states, output=outputs)
