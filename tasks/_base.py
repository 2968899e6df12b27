"""The task interface: pure, key-driven, vmappable trial generators."""

import abc
import warnings
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, PRNGKeyArray

from neurodyn._types import Trial
from neurodyn.tasks._losses import masked_cross_entropy, masked_mse


class AbstractTask(eqx.Module):
    """Base of every task.

    A task is an Equinox module: fields that change array shapes (sizes, trial length) are
    static; everything a sweep may vary (probabilities, noise levels) is an array leaf, so
    one compiled program serves every member of a sweep.

    **Batch-level conditions.** Some tasks draw a quantity once per batch (e.g. a sequence
    length shared by every trial of the batch). They override `sample_condition(*, key)`
    to return it, and `sample(*, key, condition)` receives it; `sample_batch` draws the
    condition once and then samples every trial under it. Tasks without such a quantity
    return None and ignore the argument.

    Subclasses define `input_size`, `output_size`, `n_time`, `sample`, `metric` and
    `ood`, and own their loss: `batch_loss(outputs, trials, *, key)` is what training
    minimises and what every analysis of behaviour evaluates (the default: masked MSE
    against the trials' targets).

    **Class attributes** read by curricula, the task registry and `neurodyn tasks`:

    - `loss`: the name of the loss `batch_loss` computes, for people and listings:
      "mse"; "cross_entropy" (outputs are logits in consecutive groups of `n_classes`,
      one group per head, targets one-hot); or "sinkhorn" (a loss between sets of
      trials). A subclass that sets `loss = "cross_entropy"` without its own
      `batch_loss` gets the masked cross-entropy (deprecated: define `batch_loss`).
    - `metric_name`, `higher_is_better`: what `metric` measures and in which direction.
    - `parameter_ranges`: each constructor argument and its allowed values, in words.
    """

    loss: ClassVar[str] = "mse"
    metric_name: ClassVar[str] = "accuracy"
    higher_is_better: ClassVar[bool] = True
    parameter_ranges: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("loss") == "cross_entropy" and cls.batch_loss is AbstractTask.batch_loss:
            warnings.warn(
                f"{cls.__name__} sets loss = 'cross_entropy' without a batch_loss method; it "
                "gets the masked cross-entropy, but define batch_loss instead (the loss "
                "string will stop selecting it).",
                DeprecationWarning,
                stacklevel=2,
            )
            cls.batch_loss = _cross_entropy_batch_loss

    def batch_loss(
        self, outputs: Float[Array, "trial time output"], trials: Trial, *, key: PRNGKeyArray | None = None
    ) -> Float[Array, ""]:
        """The loss of a batch of outputs: masked MSE against the trials' targets, pooled
        over the batch. Override it for another loss (`key` is for stochastic ones)."""
        return masked_mse(outputs, trials.targets, trials.mask)

    @property
    @abc.abstractmethod
    def input_size(self) -> int: ...

    @property
    @abc.abstractmethod
    def output_size(self) -> int: ...

    @property
    @abc.abstractmethod
    def n_time(self) -> int: ...

    def sample_condition(self, *, key: PRNGKeyArray):
        """A quantity shared by all trials of a batch; None for most tasks."""
        return None

    @abc.abstractmethod
    def sample(self, *, key: PRNGKeyArray, condition=None) -> Trial:
        """One trial: inputs `[time, input]`, targets and mask `[time, output]`."""

    @abc.abstractmethod
    def metric(self, output: Float[Array, "time output"], trial: Trial) -> Float[Array, ""]:
        """The task's performance measure on one trial (see `higher_is_better`)."""

    def batch_metric(self, outputs: Float[Array, "trial time output"], trials: Trial) -> Float[Array, ""]:
        """The metric of a batch: the mean of `metric` over the trials with something to
        score (a nonzero mask entry), so that e.g. a flip-flop trial without a pulse does
        not count as wrong; NaN when no trial has any."""
        values = jax.vmap(self.metric)(outputs, trials)
        scored = jnp.any(trials.mask != 0, axis=tuple(range(1, trials.mask.ndim)))
        n = jnp.sum(scored)
        return jnp.where(n > 0, jnp.sum(jnp.where(scored, values, 0.0)) / jnp.maximum(n, 1), jnp.nan)

    @abc.abstractmethod
    def ood(self) -> "AbstractTask":
        """The out-of-distribution variant of this task (e.g. trials twice as long)."""

    @eqx.filter_jit
    def sample_batch(self, batch_size: int, *, key: PRNGKeyArray) -> Trial:
        """`batch_size` trials with a leading `trial` axis; one condition per batch.

        Compiled once per task structure and batch size (eager dispatch of the many
        small operations of a trial generator is far slower than the compiled batch).
        """
        ckey, tkey = jr.split(key)
        condition = self.sample_condition(key=ckey)
        keys = jr.split(tkey, batch_size)
        return jax.vmap(lambda k: self.sample(key=k, condition=condition))(keys)


def _cross_entropy_batch_loss(self, outputs, trials: Trial, *, key=None):
    return masked_cross_entropy(outputs, trials.targets, trials.mask, n_classes=getattr(self, "n_classes", 2))


def masked_mean(values: Array, mask: Array) -> Array:
    """Mean of `values` over the entries where `mask` is 1 (0 when the mask is empty)."""
    total = jnp.sum(mask)
    return jnp.where(total > 0, jnp.sum(values * mask) / jnp.maximum(total, 1), 0.0)
