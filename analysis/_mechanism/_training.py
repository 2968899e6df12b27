"""Training dynamics: the fixed point's leading eigenvalues and the orbit per snapshot."""

from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Complex, Float, Int, PRNGKeyArray

from neurodyn.models import AbstractRNN

from ._global import global_dynamics
from ._settings import TrainingDynamics, resolve


class TrainingDynamicsResult(eqx.Module):
    """Per parameter snapshot (leading `snapshot` axis).

    **Fields:** `eigenvalues` `[snapshot, eig]` (leading eigenvalues of the Jacobian at
    the fixed point the relaxed states approach, most unstable first), `n_unstable`
    `[snapshot]`, `radius` and `area` `[snapshot]` (the orbit in the PC1–2 plane at
    `noise_std`), `relaxed_spread`, `sample_spread` `[snapshot]`, `collapsed`
    `[snapshot]`.
    """

    eigenvalues: Complex[Array, "snapshot eig"]
    n_unstable: Int[Array, " snapshot"]
    radius: Float[Array, " snapshot"]
    area: Float[Array, " snapshot"]
    relaxed_spread: Float[Array, " snapshot"]
    sample_spread: Float[Array, " snapshot"]
    collapsed: Bool[Array, " snapshot"]


def stack_models(models: Sequence[AbstractRNN]) -> AbstractRNN:
    """Models of one structure stacked on a leading axis of every array leaf."""
    arrays = [eqx.filter(m, eqx.is_array) for m in models]
    static = eqx.filter(models[0], eqx.is_array, inverse=True)
    stacked = jax.tree_util.tree_map(lambda *x: jnp.stack(x), *arrays)
    return eqx.combine(stacked, static)


def training_dynamics(
    snapshots: AbstractRNN | Sequence[AbstractRNN],
    *,
    settings: TrainingDynamics | None = None,
    key: PRNGKeyArray,
    **keywords,
) -> TrainingDynamicsResult:
    """How the mechanism appears during training (Torre et al., NeurIPS 2025).

    At every snapshot, `global_dynamics` at the one noise scale `noise_std` (the same
    noise at every snapshot): the leading eigenvalues at the fixed point and the orbit
    size. In the study the one stable fixed point loses stability (a complex pair
    crosses |λ| = 1) as the orbit appears and the loss drops a second time.

    **Arguments:** `snapshots`: a list of models of one structure, or one model whose
    every array leaf has a leading `snapshot` axis (e.g. built from a store's
    `snapshot_<field>` variables); `settings` (`TrainingDynamics`; keywords replace its
    fields); `key`.

    **Returns:** a `TrainingDynamicsResult`.
    """
    settings = resolve("training_dynamics", TrainingDynamics, settings, keywords)
    if isinstance(snapshots, (list, tuple)):
        if not snapshots:
            raise ValueError("training_dynamics: snapshots is empty; pass at least one model.")
        snapshots = stack_models(snapshots)
    return _training_dynamics(snapshots, settings.global_dynamics(), key)


@eqx.filter_jit
def _training_dynamics(snapshots, one_scale, key):
    def one(model):
        g = global_dynamics(model, settings=one_scale, key=key)
        first = lambda x: x[0]
        return TrainingDynamicsResult(
            eigenvalues=first(g.eigenvalues),
            n_unstable=first(g.n_unstable),
            radius=first(g.radius),
            area=first(g.area),
            relaxed_spread=first(g.relaxed_spread),
            sample_spread=first(g.sample_spread),
            collapsed=first(g.collapsed),
        )

    return eqx.filter_vmap(one)(snapshots)
