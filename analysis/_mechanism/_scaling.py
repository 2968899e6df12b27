"""Causal drive scaling: the recurrent drive into a set of units multiplied by μ."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray

from neurodyn.models import AbstractRNN, LowRankRNN

from ._runs import noise_run, principal_plane
from ._settings import DriveScaling, resolve

SETS = ("target", "control")


def as_mask(model: AbstractRNN, units, owner: str) -> Bool[Array, " hidden"]:
    """A `[hidden]` boolean mask from a mask or from unit indices."""
    units = jnp.asarray(units)
    n = model.hidden_size
    if units.dtype == bool:
        if units.shape != (n,):
            raise ValueError(
                f"{owner}: a unit mask must have shape [hidden] = ({n},), got {units.shape}; "
                "or pass unit indices."
            )
        return units
    if not jnp.issubdtype(units.dtype, jnp.integer) or units.ndim != 1:
        raise ValueError(
            f"{owner}: units must be a boolean mask [hidden] or a 1-D array of unit indices, "
            f"got dtype {units.dtype} and shape {units.shape}."
        )
    return jnp.zeros(n, bool).at[units].set(True)


def scale_recurrent_drive(model: AbstractRNN, units, mu) -> AbstractRNN:
    """The model with the recurrent drive into `units` multiplied by `mu`.

    Row i of the recurrent weights (the drive W h into unit i) becomes μ·row i for i in
    `units`: `W_rec` of `VanillaRNN`, `LeakyRateRNN`, `CTRNN` (masks, Dale signs and the
    µP 1/N act on the scaled matrix unchanged for μ ≥ 0), the rows of every gate of
    `GRU` and `LSTM`, and the rows of m in `LowRankRNN` (W = m nᵀ/N). Input and readout
    are untouched. `units`: a boolean mask `[hidden]` or unit indices; vmappable over
    `mu` and masks.
    """
    mask = as_mask(model, units, "scale_recurrent_drive")
    factor = jnp.where(mask, jnp.asarray(mu), 1.0)
    if isinstance(model, LowRankRNN):
        return eqx.tree_at(lambda m: m.m, model, model.m * factor[:, None].astype(model.m.dtype))
    w = getattr(model, "W_rec", None)
    if not eqx.is_inexact_array(w) or w.ndim != 2 or w.shape[0] % model.hidden_size:
        raise TypeError(
            f"scale_recurrent_drive: {type(model).__name__} has no recurrent weight matrix "
            "W_rec [gates·hidden, hidden] whose rows are the drive into each unit; scale the "
            "right field yourself with eqx.tree_at."
        )
    rows = jnp.tile(factor, w.shape[0] // model.hidden_size).astype(w.dtype)
    return eqx.tree_at(lambda m: m.W_rec, model, w * rows[:, None])


class DriveScalingResult(eqx.Module):
    """Output switching and the orbit with the drive into a unit set scaled by μ.

    **Fields** (`set` is target, control):

    - `mu` `[mu]`; `units` `[set, hidden]`: the scaled sets.
    - `changes` `[set, mu]`: mean argmax-output changes per sequence.
    - `dwell` `[set, mu]`: mean run length of the argmax output over the long run,
      n_steps / (changes + 1).
    - `radius` `[set, mu]`: RMS distance from the mean within the unperturbed network's
      PC1–2 plane; `radius_ratio` `[set, mu]`: over the unperturbed radius;
      `persists` `[set, mu]`: radius_ratio ≥ `persist_ratio` (False if not finite).
    - `baseline_changes`, `baseline_dwell`, `baseline_radius` `[]`: the unperturbed
      network (μ = 1).
    """

    mu: Float[Array, " mu"]
    units: Bool[Array, "set hidden"]
    changes: Float[Array, "set mu"]
    dwell: Float[Array, "set mu"]
    radius: Float[Array, "set mu"]
    radius_ratio: Float[Array, "set mu"]
    persists: Bool[Array, "set mu"]
    baseline_changes: Float[Array, ""]
    baseline_dwell: Float[Array, ""]
    baseline_radius: Float[Array, ""]


def control_units(mask: Bool[Array, " hidden"], *, key: PRNGKeyArray) -> Bool[Array, " hidden"]:
    """A random set of as many units as `mask` holds, drawn from the other units (all
    of them if they are fewer)."""
    r = jnp.where(mask, jnp.inf, jr.uniform(key, mask.shape))
    rank = jnp.argsort(jnp.argsort(r))
    return (rank < mask.sum()) & ~mask


def _sequence_changes(model, inputs, keys, process_noise):
    def one(x, k):
        out = model(x, key=k if process_noise else None).output
        cls = jnp.argmax(out, axis=-1)
        return jnp.sum(cls[1:] != cls[:-1])

    return jnp.mean(jax.vmap(one)(inputs, keys).astype(inputs.dtype))


def drive_scaling(
    model: AbstractRNN,
    units,
    *,
    settings: DriveScaling | None = None,
    key: PRNGKeyArray,
    control: Bool[Array, " hidden"] | Int[Array, " n"] | None = None,
    **keywords,
) -> DriveScalingResult:
    """Scale the recurrent drive into `units` by each μ; measure switching and the orbit.

    For each μ, and alike for a control set of equal size (random by default):
    `n_sequences` sequences of `sequence_length` steps under x = `noise_std` · ξ from the
    initial state (changes of the argmax output per sequence), and one run of `n_steps`
    after `burn_in` (dwell = mean run length of the argmax output; orbit radius in the
    unperturbed PC1–2 plane). All runs share their noise, so μ = 1 reproduces the
    unperturbed network exactly. Torre et al. (NeurIPS 2025): μ = 0 on the kick units
    stops switching, μ = 2 overshoots while the orbit persists, the control does nothing.

    **Arguments:** `units` (a boolean mask `[hidden]` or indices; any model, any set),
    `settings` (`DriveScaling`; keywords replace its fields), `key`, `control`.

    **Returns:** a `DriveScalingResult`.
    """
    settings = resolve("drive_scaling", DriveScaling, settings, keywords)
    mask = as_mask(model, units, "drive_scaling")
    control = None if control is None else as_mask(model, control, "drive_scaling")
    return _drive_scaling(model, mask, control, settings, key)


@eqx.filter_jit
def _drive_scaling(model, mask, control, settings, key):
    kc, ks, kr = jr.split(key, 3)
    other = control_units(mask, key=kc) if control is None else control
    sets = jnp.stack([mask, other])
    dtype = jnp.result_type(float)
    shape = (settings.n_sequences, settings.sequence_length, model.input_size)
    kx, kn = jr.split(ks)
    inputs = settings.noise_std * jr.normal(kx, shape, dtype)
    seq_keys = jr.split(kn, settings.n_sequences)

    def run(m):
        return noise_run(
            m, settings.noise_std, settings.n_steps, key=kr, burn_in=settings.burn_in,
            chunk_size=settings.chunk_size, process_noise=settings.process_noise,
        )

    base = run(model)
    _, components, _ = principal_plane(base.covariance)
    plane_radius = lambda cov: jnp.sqrt(jnp.trace(components @ cov @ components.T))
    base_radius = plane_radius(base.covariance)
    dwell_of = lambda r: r.count.astype(dtype) / (r.changes.astype(dtype) + 1.0)

    def one(set_mask, mu):
        m = scale_recurrent_drive(model, set_mask, mu)
        r = run(m)
        radius = plane_radius(r.covariance)
        return _sequence_changes(m, inputs, seq_keys, settings.process_noise), dwell_of(r), radius

    mus = jnp.asarray(settings.mu, dtype)
    changes, dwell, radius = jax.vmap(lambda s: jax.vmap(lambda mu: one(s, mu))(mus))(sets)
    ratio = radius / base_radius
    return DriveScalingResult(
        mu=mus,
        units=sets,
        changes=changes,
        dwell=dwell,
        radius=radius,
        radius_ratio=ratio,
        persists=jnp.isfinite(ratio) & (ratio >= settings.persist_ratio),
        baseline_changes=_sequence_changes(model, inputs, seq_keys, settings.process_noise),
        baseline_dwell=dwell_of(base),
        baseline_radius=base_radius,
    )
