"""Global dynamics: the orbit under noise and the collapse to one point without input."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Complex, Float, Int, PRNGKeyArray

from neurodyn.models import AbstractContinuousRNN, AbstractRNN

from ._linearise import leading_eigenvalues, local_jacobian
from ._runs import noise_run, principal_plane, refine_fixed_point, relax
from ._settings import GlobalDynamics, resolve


class GlobalDynamicsResult(eqx.Module):
    """Orbit and relaxation per noise scale (every field has a leading `scale` axis).

    **Fields:**

    - `scales` `[scale]`: the input noise stds.
    - `radius` `[scale]`: √(λ1 + λ2), the RMS distance of the run's states from their
      mean within the PC1–2 plane (λ: the two leading covariance eigenvalues); the
      radius R of a circular orbit.
    - `area` `[scale]`: 2π √(λ1 λ2), the area πab of the ellipse a state moving
      uniformly round it traces (πR² for a circle).
    - `pc_variance` `[scale, pc]`, `explained` `[scale]` ((λ1 + λ2) / total variance),
      `components` `[scale, pc, state]`, `mean` `[scale, state]`.
    - `trace` `[scale, trace, pc]`, `samples` `[scale, sample, pc]`: the first states of
      the run and the sampled states, projected on the PC1–2 plane.
    - `changes` `[scale]`: argmax-output changes per step of the run.
    - `sample_spread` `[scale]`: RMS distance of the sampled states from their mean.
    - `relaxed_spread` `[scale]`: max distance of the relaxed states from their mean.
    - `fixed_point` `[scale, state]`, `fixed_point_residual` `[scale]`: Newton-refined
      from the relaxed mean; `fixed_point_distance` `[scale]`: max distance of a relaxed
      state from it.
    - `eigenvalues` `[scale, eig]`, `n_unstable` `[scale]`: of the Jacobian on the
      approach to the fixed point (see `relax`), most unstable first.
    - `collapsed` `[scale]`: relaxed_spread ≤ collapse_tol · sample_spread.
    """

    scales: Float[Array, " scale"]
    radius: Float[Array, " scale"]
    area: Float[Array, " scale"]
    pc_variance: Float[Array, "scale pc"]
    explained: Float[Array, " scale"]
    components: Float[Array, "scale pc state"]
    mean: Float[Array, "scale state"]
    trace: Float[Array, "scale trace pc"]
    samples: Float[Array, "scale sample pc"]
    changes: Float[Array, " scale"]
    sample_spread: Float[Array, " scale"]
    relaxed_spread: Float[Array, " scale"]
    fixed_point: Float[Array, "scale state"]
    fixed_point_residual: Float[Array, " scale"]
    fixed_point_distance: Float[Array, " scale"]
    eigenvalues: Complex[Array, "scale eig"]
    n_unstable: Int[Array, " scale"]
    collapsed: Bool[Array, " scale"]


def _one_scale(model, scale, settings: GlobalDynamics, key):
    run = noise_run(
        model, scale, settings.n_steps, key=key, burn_in=settings.burn_in,
        n_samples=settings.n_samples, n_trace=settings.n_trace, chunk_size=settings.chunk_size,
        process_noise=settings.process_noise,
    )
    lam, components, total = principal_plane(run.covariance)
    project = lambda x: (x - run.mean) @ components.T
    start_spread = jnp.sqrt(jnp.mean(jnp.sum((run.samples - run.samples.mean(0)) ** 2, axis=-1)))
    end, approach = relax(model, run.samples, settings.n_relax)
    end_mean = jnp.mean(end, axis=0)
    relaxed_spread = jnp.max(jnp.linalg.norm(end - end_mean, axis=-1))
    fp, residual = refine_fixed_point(model, end_mean)
    continuous = isinstance(model, AbstractContinuousRNN)
    n_eig = min(settings.n_eig, end.shape[-1])
    eigenvalues, n_unstable = leading_eigenvalues(local_jacobian(model, approach), n_eig, continuous)
    return GlobalDynamicsResult(
        scales=jnp.asarray(scale, lam.dtype),
        radius=jnp.sqrt(lam[0] + lam[1]),
        area=2 * math.pi * jnp.sqrt(lam[0] * lam[1]),
        pc_variance=lam,
        explained=(lam[0] + lam[1]) / total,
        components=components,
        mean=run.mean,
        trace=project(run.trace),
        samples=project(run.samples),
        changes=run.changes.astype(lam.dtype) / run.count.astype(lam.dtype),
        sample_spread=start_spread,
        relaxed_spread=relaxed_spread,
        fixed_point=fp,
        fixed_point_residual=residual,
        fixed_point_distance=jnp.max(jnp.linalg.norm(end - fp, axis=-1)),
        eigenvalues=eigenvalues,
        n_unstable=n_unstable,
        collapsed=relaxed_spread <= settings.collapse_tol * start_spread,
    )


def global_dynamics(
    model: AbstractRNN,
    *,
    settings: GlobalDynamics | None = None,
    key: PRNGKeyArray,
    **keywords,
) -> GlobalDynamicsResult:
    """The global picture: an orbit under noise, one fixed point without input.

    For each noise scale s: x_t = s ξ_t (ξ_t ~ N(0, I), the same ξ at every scale)
    drives the model from its initial state for `burn_in` + `n_steps` steps; the run's
    covariance gives the PC1–2 plane and the orbit's radius √(λ1 + λ2) and area
    2π√(λ1 λ2); `n_samples` states taken evenly from the run are relaxed `n_relax` steps
    without input, and their spread, the fixed point they approach and its leading
    eigenvalues are reported. For the bias-free ReLU RNN from h0 = 0 the trajectory, and
    so the radius, scales exactly with s (Torre et al., NeurIPS 2025).

    **Arguments:** `settings` (`GlobalDynamics`; keywords replace its fields), `key`.

    **Returns:** a `GlobalDynamicsResult` with a leading `scale` axis. Jittable and
    vmappable over models (the scales run as one vmapped program).
    """
    settings = resolve("global_dynamics", GlobalDynamics, settings, keywords)
    return _global_dynamics(model, settings, key)


@eqx.filter_jit
def _global_dynamics(model, settings, key):
    scales = jnp.asarray(settings.scales)
    return jax.vmap(lambda s: _one_scale(model, s, settings, key))(scales)
