"""Small batched dense solves written in plain XLA operations.

`jnp.linalg.solve` lowers to LAPACK custom calls; many of them in one program (the
combine of a dense Kalman filter, at every level of an associative scan) deadlocked
XLA's CPU executor on a 2-core host (jaxlib 0.10.2, unless
`--xla_cpu_enable_concurrency_optimized_scheduler=false`). Gauss–Jordan elimination
with partial pivoting, looped over the `state` columns, avoids the custom calls; for
the small matrices of a recurrent state it costs about the same.
"""

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float


def solve(M: Float[Array, "*batch n n"], B: Float[Array, "*batch n k"]) -> Float[Array, "*batch n k"]:
    """M⁻¹ B for every matrix of a batch, by Gauss–Jordan elimination with row pivoting.

    **Arguments:** `M` `[..., n, n]` (nonsingular), `B` `[..., n, k]`.

    **Returns:** X `[..., n, k]` with M X = B.
    """
    n = M.shape[-1]
    aug = jnp.concatenate([M, B], axis=-1)
    rows = jnp.arange(n)

    def eliminate(j, aug):
        col = jnp.abs(aug[..., :, j])
        p = jnp.argmax(jnp.where(rows >= j, col, -1.0), axis=-1)
        row_j = aug[..., j, :]
        row_p = jnp.take_along_axis(aug, p[..., None, None], axis=-2)[..., 0, :]
        swap = (rows == j).astype(aug.dtype) - (rows == p[..., None]).astype(aug.dtype)
        aug = aug + swap[..., :, None] * (row_p - row_j)[..., None, :]
        pivot = aug[..., j, :] / aug[..., j, j][..., None]
        factor = aug[..., :, j].at[..., j].set(0.0)
        aug = aug - factor[..., :, None] * pivot[..., None, :]
        return aug.at[..., j, :].set(pivot)

    aug = jax.lax.fori_loop(0, n, eliminate, aug)
    return aug[..., n:]
