"""Kick units and noise-integrating populations (Torre et al., NeurIPS 2025)."""

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int

from neurodyn.models import CTRNN, AbstractRNN, LeakyRateRNN, LowRankRNN, VanillaRNN

from ._linearise import per_label_mean
from ._residency import CLUSTER, KICK_ZONE, TRANSITION
from ._settings import POPULATION_SCORES

#: Models with one recurrent matrix and a pre-activation per unit.
UNIT_MODELS = (VanillaRNN, LeakyRateRNN, CTRNN, LowRankRNN)


def pre_activation(
    model: AbstractRNN, state: Float[Array, " state"], u: Float[Array, " input"] | None = None
) -> Float[Array, " hidden"]:
    """The argument of each unit's nonlinearity at `state` under input `u` (zeros).

    `VanillaRNN`, `LeakyRateRNN` and the rate `CTRNN`: W h + W_in u + b; the voltage
    `CTRNN` and `LowRankRNN`: the state itself (φ acts on the voltage).
    """
    u = jnp.zeros(model.input_size, state.dtype) if u is None else u
    if isinstance(model, (VanillaRNN, LeakyRateRNN)) or (
        isinstance(model, CTRNN) and model.formulation == "rate"
    ):
        z = model.recurrent_weights() @ state + model.W_in @ u
        b = getattr(model, "b", None)
        return z if b is None else z + b
    if isinstance(model, (CTRNN, LowRankRNN)):
        return model.hidden(state)
    raise TypeError(
        f"pre_activation: no pre-activation is defined for {type(model).__name__}; pass "
        "pre_activation_fn=lambda model, state: ... returning one value per hidden unit."
    )


class KickUnits(eqx.Module):
    """Units ranked by how their pre-activation rises from clusters to transitions.

    **Fields:** `index` `[kick]` (best first), `score` `[kick]`, `unit_score` `[hidden]`
    (every unit's score; NaN if a label is missing), `label_mean` `[label, hidden]`
    (mean pre-activation per label: transition, kick-zone, cluster, other).
    """

    index: Int[Array, " kick"]
    score: Float[Array, " kick"]
    unit_score: Float[Array, " hidden"]
    label_mean: Float[Array, "label hidden"]


def kick_units(
    model: AbstractRNN,
    states: Float[Array, "time state"],
    labels: Int[Array, " time"],
    *,
    n_units: int = 6,
    pre_activation_fn: Callable | None = None,
) -> KickUnits:
    """Find the kick units: silent in clusters, at threshold in kick-zones, firing in
    transitions (Torre et al., NeurIPS 2025).

    With m_C, m_K, m_T the mean pre-activation z_i (`pre_activation`, at zero input)
    of unit i over cluster, kick-zone and transition states and s_i its standard
    deviation over all three, score_i = min(m_K − m_C, m_T − m_K) / s_i: high only when
    z_i rises in both steps, cluster → kick-zone → transition.

    **Arguments:** `states` `[time, state]`, `labels` `[time]` (from `residency`),
    `n_units` (kept), `pre_activation_fn(model, state) -> [hidden]`.

    **Returns:** `KickUnits`.
    """
    fn = pre_activation if pre_activation_fn is None else pre_activation_fn
    return _kick_units(model, states, labels, int(n_units), fn)


@eqx.filter_jit
def _kick_units(model, states, labels, n_units, fn):
    z = jax.vmap(lambda h: fn(model, h))(states)
    means = jax.vmap(lambda column: per_label_mean(column, labels), in_axes=1, out_axes=1)(z)
    used = (labels == CLUSTER) | (labels == KICK_ZONE) | (labels == TRANSITION)
    w = used.astype(z.dtype)[:, None]
    n = jnp.maximum(w.sum(), 1.0)
    mu = (w * z).sum(0) / n
    sd = jnp.sqrt((w * (z - mu) ** 2).sum(0) / n)
    rise = jnp.minimum(means[KICK_ZONE] - means[CLUSTER], means[TRANSITION] - means[KICK_ZONE])
    score = jnp.where(sd > 0, rise / jnp.where(sd > 0, sd, 1.0), 0.0)
    ranked = jnp.argsort(-jnp.where(jnp.isnan(score), -jnp.inf, score))[: min(n_units, z.shape[1])]
    return KickUnits(ranked.astype(jnp.int32), score[ranked], score, means)


class NoisePopulations(eqx.Module):
    """Two populations of noise-integrating units.

    **Fields:** `index` `[population, population_unit]`, `score` (the selection score of
    each unit), `weights` `[population, population_]` (mean recurrent weight from
    population b (column) onto population a (row): self-excitation on the diagonal,
    mutual inhibition off it), `to_kick` `[population]` (mean weight from each
    population onto the kick units; NaN without them).
    """

    index: Int[Array, "population population_unit"]
    score: Float[Array, "population population_unit"]
    weights: Float[Array, "population population_"]
    to_kick: Float[Array, " population"]


def noise_populations(
    model: AbstractRNN,
    *,
    size: int | None = None,
    by: str = "input",
    kick: Int[Array, " kick"] | None = None,
) -> NoisePopulations:
    """Find the two noise-integrating populations by weight (Torre et al., NeurIPS 2025).

    Units (the kick units left out) are scored by their input-weight norm ‖W_in[i]‖
    (`by="input"`: how strongly each integrates the noise) or by Σ_k |W[k, i]| over the
    kick units k (`by="kick"`); the 2·`size` best form a pool, split along the leading
    eigenvector v of the pool's symmetrised recurrent weights (½(W + Wᵀ)): for two groups
    that excite themselves and inhibit each other, v is +1 on one group and −1 on the
    other. Population 0 holds the `size` units with the largest v (oriented so it holds
    the best-scored unit), population 1 the `size` with the smallest.

    **Arguments:** `size` (None: (hidden − kick units) // 2), `by`, `kick` (unit
    indices, e.g. `kick_units(...).index`; needed for `by="kick"` and `to_kick`).

    **Returns:** `NoisePopulations`.
    """
    owner = "noise_populations"
    if by not in POPULATION_SCORES:
        raise ValueError(f"{owner}: by={by!r} is not one of {list(POPULATION_SCORES)}.")
    if by == "kick" and kick is None:
        raise ValueError(f"{owner}: by='kick' needs the kick units; pass kick=kick_units(...).index.")
    kick = None if kick is None else jnp.asarray(kick)
    w = model.recurrent_weights() if hasattr(model, "recurrent_weights") else None
    if w is None or w.ndim != 2 or not hasattr(model, "W_in"):
        raise TypeError(
            f"{owner}: {type(model).__name__} has no single recurrent matrix W [hidden, hidden] "
            "and input matrix W_in; populations by weight are defined for VanillaRNN, "
            "LeakyRateRNN, CTRNN and LowRankRNN."
        )
    n_hidden = w.shape[0]
    n_kick = 0 if kick is None else int(kick.shape[0])
    free = n_hidden - n_kick
    size = free // 2 if size is None else int(size)
    if size < 1 or 2 * size > free:
        raise ValueError(
            f"{owner}: size={size} needs 2·size ≤ {free} units ({n_hidden} hidden, {n_kick} "
            f"kick units left out); pass size ≤ {free // 2} (or None)."
        )
    return _noise_populations(w, model.W_in, None if kick is None else jnp.asarray(kick), size, by)


@eqx.filter_jit
def _noise_populations(w, w_in, kick, size, by):
    n_hidden = w.shape[0]
    is_kick = jnp.zeros(n_hidden, bool) if kick is None else jnp.zeros(n_hidden, bool).at[kick].set(True)
    if by == "input":
        score = jnp.linalg.norm(w_in, axis=1)
    else:
        score = jnp.sum(jnp.abs(w[kick]), axis=0)
    pool = jnp.argsort(-jnp.where(is_kick, -jnp.inf, score))[: 2 * size]
    block = w[pool][:, pool]
    v = jnp.linalg.eigh(0.5 * (block + block.T))[1][:, -1]
    v = v * jnp.where(v[jnp.argmax(score[pool])] < 0, -1.0, 1.0)
    order = jnp.argsort(-v)
    groups = jnp.stack([pool[order[:size]], pool[order[::-1][:size]]])
    masks = jnp.zeros((2, n_hidden), w.dtype).at[jnp.arange(2)[:, None], groups].set(1.0)
    weights = (masks @ w @ masks.T) / (size * size)
    if kick is None:
        to_kick = jnp.full(2, jnp.nan, w.dtype)
    else:
        to_kick = (is_kick.astype(w.dtype) @ w @ masks.T) / (kick.shape[0] * size)
    return NoisePopulations(groups.astype(jnp.int32), score[groups], weights, to_kick)


def unit_mask(n_hidden: int, index: Int[Array, " n"]) -> Bool[Array, " hidden"]:
    """A boolean `[hidden]` mask from unit indices."""
    return jnp.zeros(n_hidden, bool).at[index].set(True)
