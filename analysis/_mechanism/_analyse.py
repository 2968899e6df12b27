"""All mechanism analyses of one network, in the order the study runs them."""

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, PRNGKeyArray

from neurodyn.models import AbstractRNN

from ._global import GlobalDynamicsResult, global_dynamics
from ._linearise import TrajectoryLinearisation, linearise_trajectory
from ._residency import ResidencyResult, noisy_trajectory, residency
from ._runs import principal_plane
from ._scaling import DriveScalingResult, drive_scaling
from ._settings import HMMMechanism, resolve, resolve_parts
from ._units import (
    UNIT_MODELS,
    KickUnits,
    NoisePopulations,
    kick_units,
    noise_populations,
    unit_mask,
)


class MechanismResult(eqx.Module):
    """Everything `analyse_mechanism` finds for one network (None for a part not run).

    **Fields:** `global_dynamics` (`GlobalDynamicsResult`), `residency`
    (`ResidencyResult`), `residency_trace` `[time, pc]` (the segmented trajectory on its
    own PC1–2 plane), `linearisation` (`TrajectoryLinearisation`), `kick`
    (`KickUnits`), `populations` (`NoisePopulations`), `drive_scaling`
    (`DriveScalingResult`, of the kick units or of both populations).
    """

    global_dynamics: GlobalDynamicsResult | None
    residency: ResidencyResult | None
    residency_trace: Float[Array, "time pc"] | None
    linearisation: TrajectoryLinearisation | None
    kick: KickUnits | None
    populations: NoisePopulations | None
    drive_scaling: DriveScalingResult | None


def analyse_mechanism(
    model: AbstractRNN,
    *,
    settings: HMMMechanism | None = None,
    key: PRNGKeyArray,
    parts=None,
    **keywords,
) -> MechanismResult:
    """The mechanism analyses of Torre et al. (NeurIPS 2025) on one network.

    1. `global_dynamics` over the noise scales; 2. a `noisy_trajectory` of
    `residency.n_time` states segmented by `residency`; 3. `linearise_trajectory` along
    it (unstable modes per label); 4. `kick_units` from its pre-activations and labels,
    and `noise_populations` by weight; 5. `drive_scaling` of the kick units (or of both
    populations, `drive_scaling.target`) against a random control set. Training
    dynamics need parameter snapshots: see `training_dynamics`.

    **Arguments:** `settings` (`HMMMechanism`; keywords are routed to every part with
    that field), `key`, `parts` (a subset of "global_dynamics", "residency",
    "linearisation", "units", "drive_scaling"; None: all; what a part needs is run
    too). Each part draws its own key from `key`, so its results do not depend on which
    other parts run.

    **Returns:** a `MechanismResult`; jittable and vmappable over members.
    """
    parts = resolve_parts("analyse_mechanism", parts)
    if "units" in parts and not isinstance(model, UNIT_MODELS):
        raise TypeError(
            f"analyse_mechanism: kick units and noise populations need one recurrent matrix "
            f"W [hidden, hidden] and a pre-activation per unit; {type(model).__name__} has "
            f"neither (they are defined for {', '.join(m.__name__ for m in UNIT_MODELS)}). "
            "Pass parts=('global_dynamics', 'residency', 'linearisation'), or run "
            "drive_scaling on a unit set of your own."
        )
    settings = resolve("analyse_mechanism", HMMMechanism, settings, {})
    if keywords:
        settings = HMMMechanism(
            settings.global_dynamics, settings.residency, settings.units,
            settings.drive_scaling, settings.training, **keywords,
        )
    return _analyse_mechanism(model, settings, key, parts)


@eqx.filter_jit
def _analyse_mechanism(model, settings, key, parts):
    kg, kt, kr, ks = jr.split(key, 4)
    g = res = trace = lin = kick = pops = scaling = None
    if "global_dynamics" in parts:
        g = global_dynamics(model, settings=settings.global_dynamics, key=kg)
    if "residency" in parts:
        rs = settings.residency
        states = noisy_trajectory(
            model, rs.n_time, key=kt, noise_std=rs.noise_std, burn_in=rs.burn_in,
            process_noise=rs.process_noise,
        )
        res = residency(model, states, settings=rs, key=kr)
        n = states.shape[1]
        _, components, _ = principal_plane(jnp.cov(states.T, bias=True).reshape(n, n))
        trace = (states - states.mean(0)) @ components.T
    if "linearisation" in parts:
        lin = linearise_trajectory(model, states, res.label, n_eig=settings.global_dynamics.n_eig)
    if "units" in parts:
        us = settings.units
        kick = kick_units(model, states, res.label, n_units=min(us.n_kick, model.hidden_size - 2))
        pops = noise_populations(model, size=us.population_size, by=us.population_by, kick=kick.index)
    if "drive_scaling" in parts:
        if settings.drive_scaling.target == "kick":
            target = unit_mask(model.hidden_size, kick.index)
        else:
            target = unit_mask(model.hidden_size, pops.index.reshape(-1))
        scaling = drive_scaling(model, target, settings=settings.drive_scaling, key=ks)
    return MechanismResult(g, res, trace, lin, kick, pops, scaling)
