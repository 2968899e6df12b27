"""Ablation and perturbation: silence units, perturb weights or τ, re-evaluate a task.

Silencing clamps a unit's activity to 0 at every step (Khajehabdollahi et al., ICLR
2024). Zeroing a unit's outgoing weights does not do it: a leaky unit with a bias keeps
its own activity and still feeds the readout. The wrapper below therefore acts on the
state after every step of the unmodified model.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Bool, Float, PRNGKeyArray

from neurodyn import _checks
from neurodyn.models import AbstractContinuousRNN, AbstractDiscreteRNN, AbstractRNN


def _full_mask(model, mask):
    """The hidden-unit mask padded with False to the full state (e.g. an LSTM's c)."""
    extra = model.state_size - model.hidden_size
    return jnp.concatenate([mask, jnp.zeros(extra, bool)]) if extra else mask


class SilencedDiscreteRNN(AbstractDiscreteRNN):
    """A discrete model whose masked units are clamped to 0 after every step.

    For leaky rate models the state is the rate, so the clamped units emit nothing; for
    an LSTM the hidden output h is clamped (the cell c is left to run but is never seen).
    """

    silenced_model: AbstractDiscreteRNN
    mask: Bool[Array, " hidden"]

    non_trainable = ("mask",)
    penalised = ()

    @property
    def input_size(self):
        return self.silenced_model.input_size

    @property
    def hidden_size(self):
        return self.silenced_model.hidden_size

    @property
    def output_size(self):
        return self.silenced_model.output_size

    @property
    def state_size(self):
        return self.silenced_model.state_size

    def clamp(self, state):
        return jnp.where(_full_mask(self.silenced_model, self.mask), 0.0, state)

    def initial_state(self):
        return self.clamp(self.silenced_model.initial_state())

    def step(self, state, u, *, key: PRNGKeyArray | None = None):
        return self.clamp(self.silenced_model.step(state, u, key=key))

    def readout(self, state):
        return self.silenced_model.readout(state)

    def hidden(self, state):
        return self.silenced_model.hidden(state)

    def rates(self, state):
        return self.silenced_model.rates(state)


class SilencedContinuousRNN(AbstractContinuousRNN):
    """A continuous model whose masked units are held at `value` (dh_i/dt = 0, no noise).

    The state starts clamped and its vector field is zeroed on the masked units, so every
    solver (fixed-step or diffrax) keeps them exactly at `value`. For the rate
    formulation the state is the rate and `value = 0` silences the unit; for the voltage
    formulation the unit emits φ(value), so choose `value` with φ(value) = 0 (0 for
    tanh, ReLU and LeakyReLU).
    """

    silenced_model: AbstractContinuousRNN
    mask: Bool[Array, " hidden"]
    value: Float[Array, ""]

    non_trainable = ("mask", "value")
    penalised = ()

    @property
    def input_size(self):
        return self.silenced_model.input_size

    @property
    def hidden_size(self):
        return self.silenced_model.hidden_size

    @property
    def output_size(self):
        return self.silenced_model.output_size

    @property
    def state_size(self):
        return self.silenced_model.state_size

    @property
    def dt(self):
        return self.silenced_model.dt

    @property
    def solver(self):
        return self.silenced_model.solver

    def initial_state(self):
        full = _full_mask(self.silenced_model, self.mask)
        return jnp.where(full, self.value, self.silenced_model.initial_state())

    def vector_field(self, t, state, u):
        full = _full_mask(self.silenced_model, self.mask)
        return jnp.where(full, 0.0, self.silenced_model.vector_field(t, state, u))

    def diffusion(self):
        full = _full_mask(self.silenced_model, self.mask)
        return jnp.where(full, 0.0, self.silenced_model.diffusion())

    def readout(self, state):
        return self.silenced_model.readout(state)

    def hidden(self, state):
        return self.silenced_model.hidden(state)

    def rates(self, state):
        return self.silenced_model.rates(state)


def silence(
    model: AbstractRNN, units: Bool[Array, " hidden"], *, value: float = 0.0
) -> AbstractRNN:
    """The model with the units in `units` (a boolean mask) silenced at every step.

    Discrete models: the masked entries of the state are set to 0 after each step (the
    state is the activity for rate models). Continuous models: the masked entries start
    at `value` and do not move (see `SilencedContinuousRNN` for the voltage formulation).
    Vmappable: `units` may differ across members.
    """
    units = jnp.asarray(units)
    if units.dtype != bool or units.shape[-1:] != (model.hidden_size,):
        raise ValueError(
            f"silence: units must be a boolean mask of shape [hidden] = ({model.hidden_size},), "
            f"got dtype {units.dtype} and shape {units.shape}. Build one with "
            "fastest_units / slowest_units or jnp.zeros(hidden, bool).at[idx].set(True)."
        )
    if isinstance(model, AbstractContinuousRNN):
        silenced = SilencedContinuousRNN(model, units, jnp.asarray(value, dtype=float))
    elif isinstance(model, AbstractDiscreteRNN):
        if value != 0.0:
            raise ValueError(
                f"silence: value={value!r} applies to continuous models only; discrete "
                "models are clamped to 0."
            )
        silenced = SilencedDiscreteRNN(model, units)
    else:
        raise TypeError(
            f"silence: model must be an AbstractDiscreteRNN or AbstractContinuousRNN, got "
            f"{type(model).__name__}."
        )
    _check_silent(silenced)
    return silenced


def _check_silent(silenced):
    """Refuse a clamp that leaves the units active (φ(value) ≠ 0); skipped under vmap."""
    if not _checks.is_concrete(silenced):
        return
    rates = silenced.rates(silenced.initial_state())
    loud = jnp.where(silenced.mask, jnp.abs(rates), 0.0)
    if bool(jnp.any(loud > 0)):
        inner = silenced.silenced_model
        raise ValueError(
            f"silence: clamping units of {type(inner).__name__} at their state value leaves "
            f"their activity at {float(jnp.max(loud)):.3g}, not 0 (the activation is not 0 "
            "there, e.g. softplus in the voltage formulation). Pass `value` with "
            "φ(value) = 0, or use formulation='rate' / an activation with φ(0) = 0."
        )


@eqx.filter_jit
def _extreme_units(tau, k: int, valid, slowest: bool):
    tau = jnp.asarray(tau)
    ok = jnp.isfinite(tau) if valid is None else (jnp.asarray(valid) & jnp.isfinite(tau))
    key = jnp.where(ok, -tau if slowest else tau, jnp.inf)
    idx = jnp.argsort(key)[:k]
    return jnp.zeros(tau.shape, bool).at[idx].set(ok[idx])


def fastest_units(
    tau: Float[Array, " hidden"], k: int, *, valid: Bool[Array, " hidden"] | None = None
) -> Bool[Array, " hidden"]:
    """Mask of the `k` units with the smallest τ (learned τ or τ_net).

    Units with NaN τ or `valid` False are never chosen (fewer than `k` if too few remain).
    """
    return _extreme_units(tau, k, valid, slowest=False)


def slowest_units(
    tau: Float[Array, " hidden"], k: int, *, valid: Bool[Array, " hidden"] | None = None
) -> Bool[Array, " hidden"]:
    """Mask of the `k` units with the largest τ; as `fastest_units` otherwise."""
    return _extreme_units(tau, k, valid, slowest=True)


def perturb_weights(
    model: AbstractRNN,
    eps: float | Float[Array, ""],
    *,
    key: PRNGKeyArray,
    field: str = "W_rec",
    constrain: bool = True,
) -> AbstractRNN:
    """W ← W + ε ‖W‖_F d / ‖d‖_F with d ~ N(0, I), on the array field `field`.

    The perturbation has Frobenius norm exactly ε ‖W‖_F. With `constrain` the model's
    own projection (`model.constrain()`, e.g. τ ≥ 1 or a zero diagonal) is applied
    afterwards, which may shrink it. Vmappable over members (`eps` may be an array).
    """
    current = getattr(model, field, None)
    if not eqx.is_inexact_array(current):
        fields = [
            name
            for name in getattr(model, "__dataclass_fields__", {})
            if eqx.is_inexact_array(getattr(model, name, None))
        ]
        raise ValueError(
            f"perturb: {type(model).__name__}.{field} is not a floating-point array field "
            f"(got {type(current).__name__}). Array fields of this model: {fields}."
        )
    d = jr.normal(key, current.shape, current.dtype)
    scale = jnp.asarray(eps, current.dtype) * jnp.linalg.norm(current) / jnp.linalg.norm(d)
    model = eqx.tree_at(lambda m: getattr(m, field), model, current + scale * d)
    return model.constrain() if constrain else model


def perturb_tau(
    model: AbstractRNN,
    eps: float | Float[Array, ""],
    *,
    key: PRNGKeyArray,
    field: str = "tau",
    constrain: bool = True,
) -> AbstractRNN:
    """τ ← τ + ε ‖τ‖ d / ‖d‖ with d ~ N(0, I); then the model's constraint (τ ≥ 1 …)."""
    return perturb_weights(model, eps, key=key, field=field, constrain=constrain)


def evaluate(
    model: AbstractRNN, task, n_trials: int, *, key: PRNGKeyArray, noise: bool = False
) -> Float[Array, ""]:
    """`task.batch_metric` over `n_trials` fresh trials (vmapped over trials).

    The dynamics are noise-free unless `noise` is True. Combine with `silence` or
    `perturb_weights` to measure what an ablation costs; vmappable over members.
    """
    return _evaluate_jit(model, task, n_trials, noise, key)


@eqx.filter_jit
def _evaluate_jit(model, task, n_trials, noise, key):
    tkey, nkey = jr.split(key)
    trials = task.sample_batch(n_trials, key=tkey)
    if noise:
        keys = jr.split(nkey, n_trials)
        outputs = jax.vmap(lambda x, k: model(x, key=k).output)(trials.inputs, keys)
    else:
        outputs = jax.vmap(lambda x: model(x).output)(trials.inputs)
    return task.batch_metric(outputs, trials)
