"""Accuracy of a trained network at every N up to the cap (forgetting after a curriculum)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, PRNGKeyArray

from neurodyn.models import AbstractRNN


@eqx.filter_jit
def accuracy_by_n(
    model: AbstractRNN, task, batch_size: int = 256, *, key: PRNGKeyArray
) -> Float[Array, " n_cap"]:
    """Classification accuracy at each N = 1 … n_cap, each on its own batch.

    For every N the task is set to n = N (so the sequence length is drawn as for
    stage N), `batch_size` trials are sampled, the model runs noise-free, and the head
    answering N is scored: head N − 1 of a multi-head task, the one head of a
    single-head task (scored against the label for N, which is how forgetting of earlier
    N shows after a single-head curriculum). N below the task's `smallest_n` give NaN.
    The N are evaluated one after another (`lax.map`), so memory is that of one batch;
    vmap over members with `eqx.filter_vmap`.

    **Arguments:**

    - `model`: a trained network whose sizes fit `task`.
    - `task`: a binary-sequence task (`neurodyn.tasks.Parity`, `DelayedMatchToSample`).
    - `batch_size`: trials per N.
    - `key`: draws the trials; N uses `jr.fold_in(key, N)`.

    **Returns:** `Float[Array, " n_cap"]`, accuracy in [0, 1] per N (NaN where undefined).

    Reference: Khajehabdollahi et al., ICLR 2024 (retention of earlier N).
    """
    lowest = getattr(task, "smallest_n", 1)

    def at(n):
        staged = eqx.tree_at(lambda t: t.n, task, jnp.maximum(n, lowest).astype(task.n.dtype))
        trials = staged.sample_batch(batch_size, key=jr.fold_in(key, n))
        outputs = jax.vmap(lambda x: model(x).output)(trials.inputs)
        per_head = jnp.mean(jax.vmap(staged.head_accuracy)(outputs, trials), axis=0)
        return jnp.where(n >= lowest, per_head[n - 1], jnp.nan)

    return jax.lax.map(at, jnp.arange(1, task.n_cap + 1, dtype=jnp.int32))
