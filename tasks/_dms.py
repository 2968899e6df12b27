"""N-delayed match-to-sample (Khajehabdollahi et al. 2024)."""

from typing import ClassVar

import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, Int, PRNGKeyArray

from neurodyn.tasks._binary_sequence import AbstractBinarySequenceTask


class DelayedMatchToSample(AbstractBinarySequenceTask):
    """N-DMS: does the digit N − 1 steps back match the last one?

    x_t ~ Bernoulli(0.5); at the last real step M − 1 the label (class 1 = match) is
    x_{M−N} == x_{M−1}. N = 1 compares a digit with itself (a constant label), so
    1-DMS is refused and head 0 is never active. Length, padding and heads are those of
    `AbstractBinarySequenceTask`.

    **Arguments:**

    - `n`: the current N (the largest trained N), 2 ≤ n ≤ n_cap; an array leaf.
    - `n_cap`: the largest N the task can be asked for (static; default `n`).
    - `heads`: "single" (2 logits, label for N = n) or "multi" (2·n_cap logits; head
      k answers N = k + 1, head 0 unused).
    - `active`: bool[n_cap], the heads a multi-head task trains (with N ≤ n).
    - `length_factor`: f ≥ 1, the scale of the length M ∈ [f·(n + 2), f·(4·n + 2));
      the out-of-distribution variant doubles it.
    - `n_time`: padded length (default the longest possible, f·(4·n_cap + 2) − 1).

    Reference: Khajehabdollahi et al., ICLR 2024 (see `Parity`).
    """

    smallest_n: ClassVar[int] = 2
    parameter_ranges: ClassVar[dict[str, str]] = {
        "n": "int in [2, n_cap]",
        "n_cap": "int >= 2 (default n)",
        "heads": "'single' or 'multi'",
        "active": "bool[n_cap], active[0] False, active[n - 1] True (default: all N >= 2)",
        "length_factor": "int >= 1",
        "n_time": "int in [f*(4n+2)-1, f*(4*n_cap+2)-1] (default the upper end)",
    }

    def digits(self, *, key: PRNGKeyArray) -> Float[Array, " time"]:
        return jr.bernoulli(key, 0.5, (self.n_steps,)).astype(float)

    def labels(self, x: Float[Array, " time"], length: Int[Array, ""]) -> Int[Array, " n_cap"]:
        sample = x[jnp.maximum(length - jnp.arange(1, self.n_cap + 1), 0)]
        return (sample == x[length - 1]).astype(jnp.int32)
