"""Shared machinery of the binary-sequence memory tasks (N-parity, N-DMS)."""

import abc
from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray

from neurodyn import _checks
from neurodyn._types import Trial
from neurodyn.tasks._base import AbstractTask, masked_mean
from neurodyn.tasks._losses import masked_cross_entropy
from neurodyn.tasks._params import concrete, int_leaf

_HEADS = ("single", "multi")


class AbstractBinarySequenceTask(AbstractTask):
    """One binary input stream x_t ∈ {0, 1}; a 2-class label at the last real step.

    **Length.** The sequence length M is drawn once per batch (`sample_condition`),
    uniformly in [f·(N_max + 2), f·(4·N_max + 2)), with N_max = `n` the largest trained
    N and f = `length_factor` (1; 2 for the out-of-distribution variant). Arrays have the
    static length `n_time` (default f·(4·n_cap + 2) − 1, the longest possible M).

    **Padding** is on the right: digits fill steps 0 … M−1, steps M … n_time−1 get input
    0 and mask 0, and the response is read at step M−1. A recurrent network is causal, so
    its outputs up to M−1 are exactly those of an unpadded length-M run: padding changes
    no loss and no gradient, it only costs compute (`padding_fraction`). Left padding
    would instead feed zeros — which look like digits — before the first real digit.
    Padding waste is large at small N: for n = 2 and n_cap = 12, M has mean 6.5 out of
    49 steps, so 86.7 % of the steps run on padding. A curriculum may bucket by stage
    with a smaller static `n_time` (recompiling once per bucket); M is then drawn from
    the range truncated at `n_time`, so a bucket must cover its stages
    (`n_time >= f·(4·n + 2) − 1`) for the exact length distribution.

    **Heads.** `heads="single"`: 2 logits, the label for N = `n`. `heads="multi"`:
    2·n_cap logits, head k (outputs 2k, 2k+1) gives the label for N = k + 1; its mask is
    on where `trained[k]`, i.e. `active[k]` and k + 1 ≤ n. Targets are one-hot at step
    M−1 (for every head, trained or not) and 0 elsewhere. `n` and `active` are array
    leaves, so a jitted curriculum changes them with `eqx.tree_at` without recompiling;
    by default every head from the smallest meaningful N is active, so a curriculum that
    trains all N ≤ n together only moves `n`.
    """

    loss: ClassVar[str] = "cross_entropy"
    n_classes: ClassVar[int] = 2
    metric_name: ClassVar[str] = "classification_accuracy"
    smallest_n: ClassVar[int] = 1

    n_cap: int = eqx.field(static=True)
    heads: str = eqx.field(static=True)
    length_factor: int = eqx.field(static=True)
    n_steps: int = eqx.field(static=True)
    n: Int[Array, ""]
    active: Bool[Array, " n_cap"]

    def __init__(
        self,
        n=3,
        *,
        n_cap: int | None = None,
        heads: str = "single",
        active=None,
        length_factor: int = 1,
        n_time: int | None = None,
    ):
        owner = type(self).__name__
        lowest = self.smallest_n
        self.heads = _checks.choice(owner, "heads", heads, _HEADS)
        self.length_factor = _checks.positive_int(owner, "length_factor", length_factor)
        n_value = concrete(n)
        if n_cap is None:
            if n_value is None or n_value.ndim != 0:
                raise ValueError(
                    f"{owner}: n_cap is required when n is traced or an array (got n={n!r}); "
                    "pass n_cap, the largest N the task will ever be asked for."
                )
            n_cap = int(n_value)
        self.n_cap = _checks.positive_int(owner, "n_cap", n_cap, minimum=lowest)
        self.n = int_leaf(
            owner, "n", n, low=lowest, high=self.n_cap,
            fix=f"n is the current (largest trained) N: {lowest} <= n <= n_cap.",
        )
        longest = self.length_factor * (4 * self.n_cap + 2) - 1
        self.n_steps = _checks.positive_int(owner, "n_time", longest if n_time is None else n_time)
        if self.n_steps > longest:
            raise ValueError(
                f"{owner}: n_time={n_time} is longer than the longest possible sequence "
                f"({longest} for n_cap={self.n_cap}); leave n_time unset."
            )
        if n_value is not None:
            needed = self.length_factor * (4 * int(n_value.max()) + 2) - 1
            if self.n_steps < needed:
                raise ValueError(
                    f"{owner}: n_time={n_time} is too short for n={int(n_value.max())}: "
                    f"sequences reach {needed} steps; use n_time >= {needed} or leave it unset."
                )
        if active is None:
            active = np.arange(1, self.n_cap + 1) >= lowest
            if n_value is not None:  # a stacked n gets one row of heads per member
                active = np.broadcast_to(active, n_value.shape + active.shape)
        self.active = jnp.asarray(active, dtype=bool)
        if self.active.shape[-1:] != (self.n_cap,):
            raise ValueError(
                f"{owner}: active must have n_cap={self.n_cap} entries (one per N = 1 … n_cap), "
                f"got shape {self.active.shape}."
            )
        act = concrete(active)
        if act is not None and act[..., : lowest - 1].any():
            raise ValueError(
                f"{owner}: N < {lowest} cannot be active (its label is constant); "
                f"set active[:{lowest - 1}] to False."
            )
        if self.heads == "multi" and act is not None and n_value is not None:
            heads_at_n = np.take_along_axis(
                np.broadcast_to(act, n_value.shape + act.shape[-1:]), n_value[..., None] - 1, -1
            )
            if not heads_at_n.all():
                raise ValueError(
                    f"{owner}: the head for N = n must be active (active[n - 1] is False for "
                    f"n={n_value.tolist()}): n is the largest trained N."
                )

    # -- what concrete tasks provide -------------------------------------------------

    @abc.abstractmethod
    def digits(self, *, key: PRNGKeyArray) -> Float[Array, " time"]:
        """`n_time` digits in {0, 1} (the task pads them after drawing)."""

    @abc.abstractmethod
    def labels(self, x: Float[Array, " time"], length: Int[Array, ""]) -> Int[Array, " n_cap"]:
        """The label for N = 1 … n_cap of the length-`length` sequence `x`."""

    # -- shared machinery --------------------------------------------------------------

    @property
    def input_size(self) -> int:
        return 1

    @property
    def output_size(self) -> int:
        return self.n_classes * (1 if self.heads == "single" else self.n_cap)

    @property
    def n_time(self) -> int:
        return self.n_steps

    @property
    def trained(self) -> Bool[Array, " n_cap"]:
        """Which N are trained: N = n alone (single head), or the active N ≤ n (multi)."""
        k = jnp.arange(1, self.n_cap + 1)
        if self.heads == "single":
            return k == self.n
        return self.active & (k <= self.n)

    def length_range(self) -> tuple[Int[Array, ""], Int[Array, ""]]:
        """[low, high) of the sequence length M for the current n (before truncation)."""
        f = self.length_factor
        return f * (self.n + 2), f * (4 * self.n + 2)

    def padding_fraction(self) -> Float[Array, ""]:
        """Expected fraction of the `n_time` steps that are padding, 1 − E[M] / n_time."""
        low, high = self.length_range()
        high = jnp.minimum(high, self.n_steps + 1)
        return 1.0 - (low + high - 1) / 2 / self.n_steps

    def sample_condition(self, *, key: PRNGKeyArray) -> Int[Array, ""]:
        """The sequence length M shared by every trial of a batch."""
        low, high = self.length_range()
        return jr.randint(key, (), low, jnp.minimum(high, self.n_steps + 1))

    def sample(self, *, key: PRNGKeyArray, condition=None) -> Trial:
        lkey, dkey = jr.split(key)
        length = self.sample_condition(key=lkey) if condition is None else condition
        t = jnp.arange(self.n_steps)
        x = jnp.where(t < length, self.digits(key=dkey), 0.0)
        onehot = jnp.eye(self.n_classes)[self.labels(x, length)]  # [n_cap, class]
        if self.heads == "single":
            row = onehot[self.n - 1]
            row_mask = jnp.ones(self.n_classes)
        else:
            row = onehot.reshape(-1)
            row_mask = jnp.repeat(self.trained, self.n_classes).astype(float)
        at_response = (t == length - 1)[:, None]
        targets = jnp.where(at_response, row, 0.0)
        mask = jnp.where(at_response, row_mask, 0.0)
        return Trial(inputs=x[:, None], targets=targets, mask=mask)

    def _correct(self, output, trial: Trial):
        """Per step and head: 1 where the argmax class matches the target."""
        shape = (self.n_steps, -1, self.n_classes)
        out, tgt = output.reshape(shape), trial.targets.reshape(shape)
        correct = (jnp.argmax(out, -1) == jnp.argmax(tgt, -1)).astype(output.dtype)
        return correct, tgt.sum(-1), trial.mask.reshape(shape)[..., 0]

    def batch_loss(
        self, outputs: Float[Array, "trial time output"], trials: Trial, *, key: PRNGKeyArray | None = None
    ) -> Float[Array, ""]:
        """Masked cross-entropy of the one-hot targets, one head of `n_classes` logits per
        output group, averaged over the masked (head, step) pairs of the batch."""
        return masked_cross_entropy(outputs, trials.targets, trials.mask, n_classes=self.n_classes)

    def metric(self, output: Float[Array, "time output"], trial: Trial) -> Float[Array, ""]:
        """Classification accuracy at the response step, averaged over trained heads."""
        correct, _, mask = self._correct(output, trial)
        return masked_mean(correct, mask)

    def head_accuracy(self, output: Float[Array, "time output"], trial: Trial) -> Float[Array, " n_cap"]:
        """Correctness per N = 1 … n_cap at the response step (untrained heads included).

        Multi-head: head k against the label for N = k + 1. Single-head: the one head at
        index n − 1, zeros elsewhere. Combine with `trained` (see `stage_accuracy`).
        """
        correct, response, _ = self._correct(output, trial)
        per_head = jnp.sum(correct * response, axis=0)  # one response step per trial
        if self.heads == "single":
            return jnp.where(jnp.arange(self.n_cap) == self.n - 1, per_head[0], 0.0)
        return per_head

    def stage_accuracy(self, head_accuracy: Float[Array, " n_cap"]) -> tuple[Array, Array]:
        """(mean accuracy over the trained N, accuracy at N = n), what curricula compare."""
        trained = self.trained
        mean = jnp.sum(head_accuracy * trained) / jnp.maximum(jnp.sum(trained), 1)
        return mean, head_accuracy[self.n - 1]

    def ood(self):
        """Sequence-length range doubled (and `n_time` with it)."""
        return type(self)(
            self.n,
            n_cap=self.n_cap,
            heads=self.heads,
            active=self.active,
            length_factor=2 * self.length_factor,
            n_time=2 * self.n_steps + 1,
        )
