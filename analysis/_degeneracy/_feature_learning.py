"""Feature learning: how far training moved the weights and the tangent kernel.

In the lazy (kernel) regime the weights barely move and the empirical tangent kernel
stays put; in the rich regime both change. The study (docs/studies/degeneracy.md)
measures ‖W_T − W_0‖_F and the alignment of the tangent kernel before and after training.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PyTree

from neurodyn import _checks


@eqx.filter_jit
def weight_change(after: PyTree[Array], before: PyTree[Array]) -> Float[Array, ""]:
    """‖W_T − W_0‖_F: the Frobenius norm of the change of the weights during training.

    `after` and `before` are arrays (e.g. the recurrent weights at the last and the first
    snapshot) or pytrees of the same structure (e.g. two models), in which case the norm
    runs over every inexact array leaf together. Vmappable over members.
    """
    a = jax.tree_util.tree_leaves(eqx.filter(after, eqx.is_inexact_array))
    b = jax.tree_util.tree_leaves(eqx.filter(before, eqx.is_inexact_array))
    if len(a) != len(b) or any(x.shape != y.shape for x, y in zip(a, b)):
        raise ValueError(
            "weight_change: `after` and `before` must have the same structure and shapes, got "
            f"{[x.shape for x in a]} and {[y.shape for y in b]}."
        )
    return jnp.sqrt(sum(jnp.sum((x - y) ** 2) for x, y in zip(a, b)))


@eqx.filter_jit
def tangent_kernel(
    model: eqx.Module,
    inputs: Float[Array, "trial time input"],
    *,
    mode: str = "auto",
) -> Float[Array, "probe probe"]:
    """The empirical tangent kernel K = J Jᵀ of a model on a probe batch.

    J is the Jacobian of all outputs, flattened over trial, time and output channel (in
    that order, so probe index = (trial · time + t) · output + k), with respect to the
    trainable parameters (`model.trainable()` where the model defines it, else every
    inexact array leaf). The model runs noise-free: `model(inputs[i]).output`.

    **Arguments:**

    - `model`: any neurodyn model (an `eqx.Module` mapping `[time, input]` to a
      `Trajectory`).
    - `inputs`: `[trial, time, input]`, the probe batch.
    - `mode`: "reverse" (one VJP per output: better with fewer outputs than parameters),
      "forward" (one JVP per parameter), or "auto" to pick the cheaper.

    **Returns:** `K`, `[trial·time·output, trial·time·output]`.
    """
    _checks.choice("tangent_kernel", "mode", mode, ["auto", "reverse", "forward"])
    spec = model.trainable() if hasattr(model, "trainable") else eqx.is_inexact_array
    params, static = eqx.partition(model, spec)

    def outputs(params):
        net = eqx.combine(params, static)
        return jax.vmap(lambda u: net(u).output)(inputs).reshape(-1)

    n_out = jax.eval_shape(outputs, params).shape[0]
    n_params = sum(x.size for x in jax.tree_util.tree_leaves(params))
    if mode == "auto":
        mode = "reverse" if n_out <= n_params else "forward"
    jac = (jax.jacrev if mode == "reverse" else jax.jacfwd)(outputs)(params)
    blocks = [j.reshape(n_out, -1) for j in jax.tree_util.tree_leaves(jac)]
    return sum(j @ j.T for j in blocks)


@eqx.filter_jit
def kernel_alignment(
    K1: Float[Array, "probe probe"], K2: Float[Array, "probe probe"], *, centred: bool = False
) -> Float[Array, ""]:
    """Alignment of two kernel matrices: their cosine similarity as vectors.

        A(K1, K2) = ⟨K1, K2⟩_F / (‖K1‖_F ‖K2‖_F)

    1 when one kernel is a positive multiple of the other, lower the more training
    changed the kernel. By default uncentred, as in the tangent-kernel literature (Fort
    et al. 2020 call 1 − A the kernel distance); with `centred=True` both kernels are
    first centred, H K H with H = I − 11ᵀ/n (Cortes, Mohri & Rostamizadeh 2012), which
    ignores a constant offset shared by all probes.
    """
    if K1.shape != K2.shape:
        raise ValueError(
            f"kernel_alignment: the kernels must be on the same probes, got shapes {K1.shape} and {K2.shape}."
        )
    if centred:
        centre = lambda K: K - K.mean(0, keepdims=True) - K.mean(1, keepdims=True) + K.mean()
        K1, K2 = centre(K1), centre(K2)
    tiny = jnp.finfo(K1.dtype).tiny
    return jnp.sum(K1 * K2) / jnp.maximum(jnp.linalg.norm(K1) * jnp.linalg.norm(K2), tiny)


@eqx.filter_jit
def tangent_kernel_alignment(
    before: eqx.Module,
    after: eqx.Module,
    inputs: Float[Array, "trial time input"],
    *,
    centred: bool = False,
) -> Float[Array, ""]:
    """A(K_0, K_T): the alignment of the tangent kernels of a model before and after training.

    Both kernels are taken on the same probe batch `inputs` (see `tangent_kernel` and
    `kernel_alignment`). Vmappable over members (`eqx.filter_vmap` over stacked models).
    """
    return kernel_alignment(
        tangent_kernel(before, inputs), tangent_kernel(after, inputs), centred=centred
    )
