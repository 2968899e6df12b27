"""Local linearisation along a trajectory: Jacobians, leading eigenvalues, unstable counts."""

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Complex, Float, Int

from neurodyn.models import AbstractContinuousRNN, AbstractRNN, VanillaRNN

from .._fixed_points._linearise import growth, jacobian
from ._residency import N_LABELS


def _zero_input(model: AbstractRNN, state) -> Float[Array, " input"]:
    return jnp.zeros(model.input_size, dtype=state.dtype)


def local_jacobian(
    model: AbstractRNN, state: Float[Array, " state"], u: Float[Array, " input"] | None = None
) -> Float[Array, "state state"]:
    """The Jacobian of the dynamics at `state` under input `u` (zeros by default).

    For the ReLU `VanillaRNN`, J = diag(1[W h + W_in u + b > 0]) W in closed form (the
    linearisation of Torre et al., NeurIPS 2025, at x = 0); for every other model the
    autodiff Jacobian of `neurodyn.analysis.jacobian`: ∂step/∂h for discrete models,
    ∂F/∂h of the vector field for continuous ones.

    **Arguments:** `state` `[state]`; `u` `[input]`. **Returns:** `[state, state]`.
    """
    u = _zero_input(model, state) if u is None else u
    if isinstance(model, VanillaRNN) and model.activation == "relu":
        w = model.recurrent_weights()
        z = w @ state + model.W_in @ u
        if model.b is not None:
            z = z + model.b
        return jnp.where((z > 0)[:, None], w, jnp.zeros((), w.dtype))
    return jacobian(model, state, u)


def leading_eigenvalues(
    jac: Float[Array, "state state"], n_eig: int, continuous: bool
) -> tuple[Complex[Array, " eig"], Int[Array, ""]]:
    """The `n_eig` most unstable eigenvalues of `jac` (by |λ|, or by Re λ if continuous),
    and the number of unstable ones (|λ| > 1, or Re λ > 0, strictly)."""
    lam = jnp.linalg.eig(jac)[0]
    g = growth(lam, continuous)
    order = jnp.argsort(-g)
    return lam[order][:n_eig], jnp.sum(g > 0).astype(jnp.int32)


class TrajectoryLinearisation(eqx.Module):
    """Linearisation at every state of a trajectory.

    **Fields:** `eigenvalues` `[time, eig]` (leading, most unstable first), `n_unstable`
    `[time]`, and per label (transition, kick-zone, cluster, other; NaN where a label
    has no state) `mean_unstable` `[label]` and `fraction_unstable` `[label]` (states
    with at least one unstable mode).
    """

    eigenvalues: Complex[Array, "time eig"]
    n_unstable: Int[Array, " time"]
    mean_unstable: Float[Array, " label"]
    fraction_unstable: Float[Array, " label"]


def per_label_mean(values: Float[Array, " time"], labels: Int[Array, " time"]) -> Float[Array, " label"]:
    """The mean of `values` over the states of each label (NaN for an empty label)."""
    onehot = jax.nn.one_hot(labels, N_LABELS, dtype=values.dtype)
    counts = onehot.sum(0)
    sums = onehot.T @ values
    return jnp.where(counts > 0, sums / jnp.where(counts > 0, counts, 1), jnp.nan)


def linearise_trajectory(
    model: AbstractRNN,
    states: Float[Array, "time state"],
    labels: Int[Array, " time"] | None = None,
    *,
    n_eig: int = 4,
) -> TrajectoryLinearisation:
    """Unstable directions of the local linearisation along a trajectory.

    At every state h_t, J_t = `local_jacobian(model, h_t)` at zero input (for the ReLU
    network J_t = diag(1[W h_t > 0]) W); a mode is unstable when |λ| > 1 (discrete) or
    Re λ > 0 (continuous). In Torre et al. (NeurIPS 2025) clusters are contracting and
    kick-zones have a few unstable directions.

    **Arguments:** `states` `[time, state]` (e.g. `noisy_trajectory`); `labels`
    `[time]` from `residency` (per-label fields are NaN without them); `n_eig`.

    **Returns:** a `TrajectoryLinearisation`.
    """
    return _linearise_trajectory(model, states, labels, min(int(n_eig), states.shape[-1]))


@eqx.filter_jit
def _linearise_trajectory(model, states, labels, n_eig):
    continuous = isinstance(model, AbstractContinuousRNN)

    def one(h):
        return leading_eigenvalues(local_jacobian(model, h), n_eig, continuous)

    eigenvalues, n_unstable = jax.vmap(one)(states)
    if labels is None:
        nan = jnp.full(N_LABELS, jnp.nan, states.dtype)
        return TrajectoryLinearisation(eigenvalues, n_unstable, nan, nan)
    counts = n_unstable.astype(states.dtype)
    return TrajectoryLinearisation(
        eigenvalues=eigenvalues,
        n_unstable=n_unstable,
        mean_unstable=per_label_mean(counts, labels),
        fraction_unstable=per_label_mean((n_unstable > 0).astype(states.dtype), labels),
    )
