"""Behavioural degeneracy: how differently networks behave where they were not trained.

σ_OOD is the spread across networks of one condition of the loss on the task's
out-of-distribution variant (docs/studies/degeneracy.md); the pairwise output distance compares two
networks' outputs on the same trials.
"""

from collections.abc import Sequence

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from ._pairwise import condition_codes


def sigma_ood(
    losses: Float[np.ndarray, " member"],
    conditions: Sequence | None = None,
    *,
    ddof: int = 1,
) -> tuple[np.ndarray, Float[np.ndarray, " condition"]]:
    """σ_OOD: the standard deviation across networks of the out-of-distribution loss.

        σ_OOD(c) = std{ L_OOD(m) : m in condition c }

    **Arguments:**

    - `losses`: `[member]`, each network's loss on the task's `ood()` variant.
    - `conditions`: one label per member; members with equal labels form a condition.
      None puts every member in one condition.
    - `ddof`: 1 (default) for the sample standard deviation over seeds, 0 for the
      population one (`np.std`'s default).

    Non-finite losses (diverged members) are left out; a condition with fewer than
    `ddof + 1` finite losses gets NaN.

    **Returns:** `(labels, sigma)`: the condition labels in first-seen order and σ_OOD
    per condition.
    """
    losses = np.asarray(losses, dtype=float)
    if losses.ndim != 1:
        raise ValueError(f"sigma_ood: losses must be one value per member, got shape {losses.shape}.")
    if conditions is None:
        conditions = [0] * len(losses)
    if len(conditions) != len(losses):
        raise ValueError(
            f"sigma_ood: got {len(losses)} losses but {len(conditions)} condition labels; "
            "give one label per member."
        )
    labels, codes = condition_codes(conditions)
    sigma = np.full(len(labels), np.nan)
    for c in range(len(labels)):
        values = losses[(codes == c) & np.isfinite(losses)]
        if len(values) > ddof:
            sigma[c] = np.std(values, ddof=ddof)
    return labels, sigma


@eqx.filter_jit
def output_distance(
    Y1: Float[Array, "*trial time output"],
    Y2: Float[Array, "*trial time output"],
    mask: Float[Array, "*trial time output"] | None = None,
) -> Float[Array, ""]:
    """Root-mean-square difference between two networks' outputs on the same trials.

        d(Y1, Y2) = sqrt( Σ m (Y1 − Y2)² / Σ m )

    with m the trial mask (all ones when `mask` is None), so d is in the units of the
    outputs and does not grow with the number of trials. Vmappable over pairs.
    """
    if Y1.shape != Y2.shape:
        raise ValueError(
            f"output_distance: Y1 and Y2 must come from the same trials, got shapes "
            f"{Y1.shape} and {Y2.shape}."
        )
    sq = (Y1 - Y2) ** 2
    if mask is None:
        return jnp.sqrt(jnp.mean(sq))
    return jnp.sqrt(jnp.sum(mask * sq) / jnp.maximum(jnp.sum(mask), 1))
