"""N-parity (Khajehabdollahi et al. 2024)."""

from typing import ClassVar

import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, Int, PRNGKeyArray

from neurodyn.tasks._binary_sequence import AbstractBinarySequenceTask


class Parity(AbstractBinarySequenceTask):
    """N-parity: the label is the sum of the last N digits mod 2.

    Per sequence p ~ U(0, 1) and x_t ~ Bernoulli(p); at the last real step M − 1 the
    label (class 1 = odd) is (x_{M−N} + … + x_{M−1}) mod 2. Length, padding and heads
    are those of `AbstractBinarySequenceTask`.

    **Arguments:**

    - `n`: the current N (the largest trained N), 1 ≤ n ≤ n_cap; an array leaf.
    - `n_cap`: the largest N the task can be asked for (static; default `n`).
    - `heads`: "single" (2 logits, label for N = n) or "multi" (2·n_cap logits).
    - `active`: bool[n_cap], the heads a multi-head task trains (with N ≤ n).
    - `length_factor`: f ≥ 1, the scale of the length M ∈ [f·(n + 2), f·(4·n + 2));
      the out-of-distribution variant doubles it.
    - `n_time`: padded length (default the longest possible, f·(4·n_cap + 2) − 1).

    The metric is classification accuracy at the response step (mean over trained
    heads); `head_accuracy` and `stage_accuracy` serve curricula.

    Reference: Khajehabdollahi, Zeraati, …, Levina, "Emergent mechanisms for long
    timescales depend on training curriculum and affect performance in memory tasks",
    ICLR 2024.
    """

    parameter_ranges: ClassVar[dict[str, str]] = {
        "n": "int in [1, n_cap]",
        "n_cap": "int >= 1 (default n)",
        "heads": "'single' or 'multi'",
        "active": "bool[n_cap], active[n - 1] True (default: all)",
        "length_factor": "int >= 1",
        "n_time": "int in [f*(4n+2)-1, f*(4*n_cap+2)-1] (default the upper end)",
    }

    def digits(self, *, key: PRNGKeyArray) -> Float[Array, " time"]:
        pkey, xkey = jr.split(key)
        p = jr.uniform(pkey)
        return jr.bernoulli(xkey, p, (self.n_steps,)).astype(float)

    def labels(self, x: Float[Array, " time"], length: Int[Array, ""]) -> Int[Array, " n_cap"]:
        counts = jnp.concatenate([jnp.zeros(1), jnp.cumsum(x)])
        start = jnp.maximum(length - jnp.arange(1, self.n_cap + 1), 0)
        return (counts[length] - counts[start]).astype(jnp.int32) % 2
