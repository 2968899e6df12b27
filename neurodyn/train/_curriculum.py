"""Curricula over the memory length N of the binary-sequence tasks (parity, DMS).

A curriculum is static (it is a field of the `Trainer`, so it only holds Python
numbers); what differs between members lives in a `CurriculumState` of arrays inside
the `TrainState`, and the task's current N (`task.n`) and trained set (`task.active`)
are array leaves. Advancing is therefore `eqx.tree_at` on arrays: under `vmap` every
member follows its own schedule in one compiled program.
"""

import abc
from collections.abc import Callable
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray

from neurodyn import _checks

_TASK_API = ("n", "active", "n_cap", "heads", "trained", "head_accuracy", "stage_accuracy")


class CurriculumState(eqx.Module):
    """What one member's curriculum has done (array leaves only).

    **Fields** (the `n_cap` axis is N = 1 … n_cap):

    - `n`: `Int[""]`, the current (largest trained) N.
    - `epoch`: `Int[""]`, epochs evaluated so far.
    - `reached`: `Int[" n_cap"]`, the number of epochs trained before N became the
      current N (0 for the start N); −1 for N never reached.
    - `accuracy`: `Float[" n_cap"]`, accuracy per N at the last evaluation; NaN for N not
      trained then.
    - `finished`: `Bool[""]`, the criterion was met at the cap N.
    - `finished_epoch`: `Int[""]`, the epoch at which it was met; −1 if not yet.
    - `threshold`: `Float[""]`, this member's advance threshold.
    """

    n: Int[Array, ""]
    epoch: Int[Array, ""]
    reached: Int[Array, " n_cap"]
    accuracy: Float[Array, " n_cap"]
    finished: Bool[Array, ""]
    finished_epoch: Int[Array, ""]
    threshold: Float[Array, ""]


def _float():
    return jnp.asarray(0.0).dtype


class AbstractCurriculum(eqx.Module):
    """Base of the curricula of docs/studies/timescales.md (Khajehabdollahi et al., ICLR 2024).

    After every epoch the model is evaluated on a fresh held-out batch at the current
    stage; with a = accuracy per trained N and n the largest trained N, the curriculum
    advances n → n + 1 when mean(a) > threshold and a[n] > threshold (both strict). At
    the cap it instead reports `finished` (the trainer then stops that member).
    Subclasses say which head layout they need (`heads`) and which N are trained at a
    given n (`active_set`).

    Used as `neurodyn.fit(model, task, config, curriculum=...)`; the task must expose
    `n`, `active`, `n_cap`, `heads`, `trained`, `head_accuracy` and `stage_accuracy`
    (as `neurodyn.tasks.Parity` and `DelayedMatchToSample` do).
    """

    start_n: eqx.AbstractVar[int]
    n_cap: eqx.AbstractVar[int | None]
    threshold: eqx.AbstractVar[float]
    eval_batch_size: eqx.AbstractVar[int]
    heads: eqx.AbstractClassVar[str]

    @abc.abstractmethod
    def active_set(self, task, n: Int[Array, ""]) -> Bool[Array, " n_cap"]:
        """The task's `active` mask when the current N is `n`."""

    # -- host side: checks and the starting task ---------------------------------
    def cap(self, task) -> int:
        """The largest N this curriculum trains (`n_cap`, default the task's)."""
        return task.n_cap if self.n_cap is None else self.n_cap

    def start(self, task):
        """`task` set to the start N and its active set; checks the task fits."""
        owner = type(self).__name__
        missing = [a for a in _TASK_API if not hasattr(task, a)]
        if missing:
            raise TypeError(
                f"{owner}: the task {type(task).__name__} has no {missing}; a curriculum "
                "drives tasks with an array leaf `n` and heads per N, such as "
                "neurodyn.tasks.Parity or DelayedMatchToSample."
            )
        if task.heads != self.heads:
            raise ValueError(
                f"{owner}: the task has heads={task.heads!r}, this curriculum needs "
                f"heads={self.heads!r}; build the task with heads={self.heads!r}."
            )
        cap = self.cap(task)
        if cap > task.n_cap:
            raise ValueError(
                f"{owner}: n_cap={cap} exceeds the task's n_cap={task.n_cap}; build the task "
                f"with n_cap >= {cap} or lower the curriculum's n_cap."
            )
        lowest = getattr(task, "smallest_n", 1)
        if not lowest <= self.start_n <= cap:
            raise ValueError(
                f"{owner}: start_n={self.start_n} is outside [{lowest}, {cap}] "
                f"(smallest N of {type(task).__name__}, cap N); change start_n or n_cap."
            )
        needed = getattr(task, "length_factor", 1) * (4 * cap + 2) - 1
        if task.n_time < needed:
            raise ValueError(
                f"{owner}: the task's n_time={task.n_time} is too short for N={cap}: "
                f"sequences reach {needed} steps; leave the task's n_time unset."
            )
        n = jnp.asarray(self.start_n, jnp.int32)
        return eqx.tree_at(lambda t: (t.n, t.active), task, (n, self.active_set(task, n)))

    def init(self, task) -> CurriculumState:
        """A fresh state for a member starting at `start_n`."""
        n_cap = task.n_cap
        return CurriculumState(
            n=jnp.asarray(self.start_n, jnp.int32),
            epoch=jnp.asarray(0, jnp.int32),
            reached=jnp.where(jnp.arange(n_cap) == self.start_n - 1, 0, -1).astype(jnp.int32),
            accuracy=jnp.full((n_cap,), jnp.nan, _float()),
            finished=jnp.asarray(False),
            finished_epoch=jnp.asarray(-1, jnp.int32),
            threshold=jnp.asarray(self.threshold, _float()),
        )

    # -- inside the compiled training program ------------------------------------
    def evaluate(
        self, task, model, forward: Callable, *, key: PRNGKeyArray
    ) -> Float[Array, " n_cap"]:
        """Accuracy per N on a fresh batch of `eval_batch_size` trials at the current stage."""
        trials = task.sample_batch(self.eval_batch_size, key=key)
        traj = forward(model, trials, key=None)
        return jnp.mean(jax.vmap(task.head_accuracy)(traj.output, trials), axis=0)

    def advance(self, cstate: CurriculumState, task, accuracy: Float[Array, " n_cap"]):
        """Apply the advance rule to measured `accuracy` per N; returns (cstate, task, finished)."""
        trained = task.trained
        mean, top = task.stage_accuracy(accuracy)
        epoch = cstate.epoch + 1
        passed = (mean > cstate.threshold) & (top > cstate.threshold) & ~cstate.finished
        at_cap = task.n >= self.cap(task)
        move = passed & ~at_cap
        finished = cstate.finished | (passed & at_cap)
        n = task.n + move.astype(task.n.dtype)
        index = jnp.arange(task.n_cap)
        new = CurriculumState(
            n=n,
            epoch=epoch,
            reached=jnp.where(move & (index == n - 1), epoch, cstate.reached),
            accuracy=jnp.where(trained, accuracy, jnp.nan).astype(cstate.accuracy.dtype),
            finished=finished,
            finished_epoch=jnp.where(finished & ~cstate.finished, epoch, cstate.finished_epoch),
            threshold=cstate.threshold,
        )
        task = eqx.tree_at(lambda t: (t.n, t.active), task, (n, self.active_set(task, n)))
        return new, task, finished

    def update(self, cstate: CurriculumState, task, model, forward: Callable, *, key: PRNGKeyArray):
        """One epoch's evaluation and advance: `(cstate, task, finished)`."""
        accuracy = self.evaluate(task, model, forward, key=key)
        return self.advance(cstate, task, accuracy)


def _common(owner: str, start_n, n_cap, threshold, eval_batch_size):
    start_n = _checks.positive_int(owner, "start_n", start_n)
    if n_cap is not None:
        n_cap = _checks.positive_int(owner, "n_cap", n_cap, minimum=start_n)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
        raise TypeError(f"{owner}: threshold must be a number in [0, 1), got {threshold!r}.")
    _checks.in_range(
        owner,
        "threshold",
        threshold,
        low=0.0,
        high=1.0,
        high_open=True,
        fix="It is the accuracy to exceed before advancing (default 0.98).",
    )
    eval_batch_size = _checks.positive_int(owner, "eval_batch_size", eval_batch_size)
    return start_n, n_cap, float(threshold), eval_batch_size


class SingleHeadCurriculum(AbstractCurriculum):
    """One readout head reused for every N; only the current N is trained.

    After advancing to N + 1 the earlier N are no longer rehearsed (the study finds
    they are forgotten). Needs a task with `heads="single"`.

    **Arguments:** `start_n` (default 2), `n_cap` (default the task's), `threshold`
    (default 0.98), `eval_batch_size` (trials per evaluation, default 256).
    """

    start_n: int = eqx.field(static=True)
    n_cap: int | None = eqx.field(static=True)
    threshold: float = eqx.field(static=True)
    eval_batch_size: int = eqx.field(static=True)
    heads: ClassVar[str] = "single"

    def __init__(
        self,
        start_n: int = 2,
        n_cap: int | None = None,
        threshold: float = 0.98,
        eval_batch_size: int = 256,
    ):
        values = _common("SingleHeadCurriculum", start_n, n_cap, threshold, eval_batch_size)
        self.start_n, self.n_cap, self.threshold, self.eval_batch_size = values

    def active_set(self, task, n):
        return task.active


class MultiHeadCurriculum(AbstractCurriculum):
    """A head per N; every N from `start_n` up to the current N is trained together.

    Needs a task with `heads="multi"` (heads preallocated up to its `n_cap`; heads of N
    not yet reached are masked out of loss and metric).

    **Arguments:** as `SingleHeadCurriculum`.
    """

    start_n: int = eqx.field(static=True)
    n_cap: int | None = eqx.field(static=True)
    threshold: float = eqx.field(static=True)
    eval_batch_size: int = eqx.field(static=True)
    heads: ClassVar[str] = "multi"

    def __init__(
        self,
        start_n: int = 2,
        n_cap: int | None = None,
        threshold: float = 0.98,
        eval_batch_size: int = 256,
    ):
        values = _common("MultiHeadCurriculum", start_n, n_cap, threshold, eval_batch_size)
        self.start_n, self.n_cap, self.threshold, self.eval_batch_size = values

    def active_set(self, task, n):
        return jnp.arange(1, task.n_cap + 1) >= self.start_n


class SlidingWindowCurriculum(AbstractCurriculum):
    """A head per N; the last `width` values of N (n − width < N ≤ n) are trained.

    When N + 1 is added the oldest N of the window is dropped. `width=1` trains one N
    at a time on its own head; a width at least the number of stages equals
    `MultiHeadCurriculum`. Needs a task with `heads="multi"`.

    **Arguments:** `width` (≥ 1), then as `SingleHeadCurriculum`.
    """

    width: int = eqx.field(static=True)
    start_n: int = eqx.field(static=True)
    n_cap: int | None = eqx.field(static=True)
    threshold: float = eqx.field(static=True)
    eval_batch_size: int = eqx.field(static=True)
    heads: ClassVar[str] = "multi"

    def __init__(
        self,
        width: int,
        start_n: int = 2,
        n_cap: int | None = None,
        threshold: float = 0.98,
        eval_batch_size: int = 256,
    ):
        owner = "SlidingWindowCurriculum"
        self.width = _checks.positive_int(owner, "width", width)
        values = _common(owner, start_n, n_cap, threshold, eval_batch_size)
        self.start_n, self.n_cap, self.threshold, self.eval_batch_size = values

    def active_set(self, task, n):
        k = jnp.arange(1, task.n_cap + 1)
        return (k > n - self.width) & (k <= n) & (k >= self.start_n)
