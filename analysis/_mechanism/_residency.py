"""Residency segmentation: dwell times of noisy continuations, and the state labels."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, Int, PRNGKeyArray

from neurodyn.models import AbstractRNN

from .._long_runs import GaussianInput, drive
from ._settings import Residency, resolve

TRANSITION, KICK_ZONE, CLUSTER, OTHER = 0, 1, 2, 3
LABELS = ("transition", "kick_zone", "cluster", "other")
N_LABELS = len(LABELS)


def noisy_trajectory(
    model: AbstractRNN,
    n_time: int,
    *,
    key: PRNGKeyArray,
    noise_std: float = 1.0,
    burn_in: int = 0,
    process_noise: bool = False,
) -> Float[Array, "time state"]:
    """States of one run under x_t = `noise_std` · ξ_t, ξ_t ~ N(0, I), from the initial
    state; the first `burn_in` steps are dropped. **Returns:** `[time, state]`."""
    out = drive(
        model, GaussianInput(std=noise_std), n_time, burn_in=burn_in, key=key,
        chunk_size=min(1000, n_time), record="state", noise=process_noise,
    )
    return out[0]


class ResidencyResult(eqx.Module):
    """Dwell times and labels of the states of a trajectory.

    **Fields:**

    - `dwell` `[time]`: mean over continuations of the steps until the argmax output
      first differs from the state's own (`max_dwell` when it never does).
    - `censored` `[time]`: fraction of continuations with no change within `max_dwell`.
    - `output_class` `[time]`, `confidence` `[time]`: argmax and max of softmax(readout).
    - `label` `[time]`: `TRANSITION` (0), `KICK_ZONE` (1), `CLUSTER` (2) or `OTHER` (3,
      a long dwell at low confidence).
    - `class_dwell` `[output]`: mean dwell of the states of each output class (NaN if
      none); `label_count` `[label]`.
    """

    dwell: Float[Array, " time"]
    censored: Float[Array, " time"]
    output_class: Int[Array, " time"]
    confidence: Float[Array, " time"]
    label: Int[Array, " time"]
    class_dwell: Float[Array, " output"]
    label_count: Int[Array, " label"]


def _classes(model, states):
    logits = jax.vmap(model.readout)(states)
    return jnp.argmax(logits, axis=-1).astype(jnp.int32), jnp.max(jax.nn.softmax(logits, axis=-1), axis=-1)


def _dwell(model, states, c0, settings: Residency, key):
    """First-change step of each of K continuations of each state `[time, K]`."""
    n_time, n_state = states.shape
    k, length = settings.n_continuations, settings.max_dwell
    h0 = jnp.repeat(states, k, axis=0)
    start = jnp.repeat(c0, k)
    step = jax.vmap(lambda h, u, kk: model.step(h, u, key=kk if settings.process_noise else None))

    def body(carry, i):
        h, dwell, changed = carry
        kin, knoise = jr.split(jr.fold_in(key, i))
        u = settings.noise_std * jr.normal(kin, (h.shape[0], model.input_size), h.dtype)
        h = step(h, u, jr.split(knoise, h.shape[0]))
        cls = jnp.argmax(jax.vmap(model.readout)(h), axis=-1)
        first = (~changed) & (cls != start)
        return (h, jnp.where(first, i + 1, dwell), changed | first), None

    init = (h0, jnp.full(h0.shape[0], length, jnp.int32), jnp.zeros(h0.shape[0], bool))
    (_, dwell, changed), _ = jax.lax.scan(body, init, jnp.arange(length, dtype=jnp.int32))
    return dwell.reshape(n_time, k), changed.reshape(n_time, k)


def label_states(dwell, confidence, settings: Residency) -> Int[Array, " time"]:
    """Transition if dwell < `transition_below`; kick-zone if dwell ≤ `kick_max`;
    cluster if, beyond that, confidence > `cluster_confidence`; other otherwise."""
    return jnp.where(
        dwell < settings.transition_below,
        TRANSITION,
        jnp.where(
            dwell <= settings.kick_max,
            KICK_ZONE,
            jnp.where(confidence > settings.cluster_confidence, CLUSTER, OTHER),
        ),
    ).astype(jnp.int32)


def residency(
    model: AbstractRNN,
    states: Float[Array, "time state"],
    *,
    settings: Residency | None = None,
    key: PRNGKeyArray,
    **keywords,
) -> ResidencyResult:
    """Segment a trajectory into transitions, kick-zones and clusters by dwell time.

    From each state h_t, K = `n_continuations` continuations of up to L = `max_dwell`
    steps run under fresh noise x = `noise_std` · ξ; a continuation's dwell is the first
    step k ≥ 1 at which argmax readout(h_{t+k}) ≠ argmax readout(h_t) (L if none), and
    the state's dwell is the mean over continuations. Labels: transition (dwell < 2),
    kick-zone (2 ≤ dwell ≤ 8), cluster (dwell > 8 and max softmax > 0.8), other; the
    thresholds are those of Torre et al. (NeurIPS 2025). With `noise_std = 0` the
    continuations are the deterministic flow.

    **Arguments:** `states` `[time, state]` (e.g. `noisy_trajectory`); `settings`
    (`Residency`; keywords replace its fields; `n_time` and `burn_in` apply to
    trajectories made by `analyse_mechanism`); `key`.

    **Returns:** a `ResidencyResult`.
    """
    settings = resolve("residency", Residency, settings, keywords)
    return _residency(model, states, settings, key)


@eqx.filter_jit
def _residency(model, states, settings, key):
    c0, confidence = _classes(model, states)
    dwell_k, changed = _dwell(model, states, c0, settings, key)
    dtype = states.dtype
    dwell = jnp.mean(dwell_k.astype(dtype), axis=1)
    label = label_states(dwell, confidence, settings)
    onehot = jax.nn.one_hot(c0, model.output_size, dtype=dtype)
    counts = onehot.sum(0)
    class_dwell = jnp.where(counts > 0, (onehot.T @ dwell) / jnp.where(counts > 0, counts, 1), jnp.nan)
    return ResidencyResult(
        dwell=dwell,
        censored=jnp.mean((~changed).astype(dtype), axis=1),
        output_class=c0,
        confidence=confidence,
        label=label,
        class_dwell=class_dwell,
        label_count=jnp.sum(jax.nn.one_hot(label, N_LABELS, dtype=jnp.int32), axis=0),
    )
