"""Training configuration: what to optimise, for how long, and when to stop."""

import dataclasses
import math

from .. import _checks
from ._optim import split_options


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How one network (or every member of a group) is trained.

    **Arguments:**

    - `optimizer`: an optax optimiser by name ("adam", "adamw", "sgd", "rmsprop",
      "adagrad", "lion").
    - `learning_rate`: step size (> 0).
    - `optimizer_options`: further options, e.g. `{"momentum": 0.1, "nesterov": True}`;
      numbers may differ across members of a group, flags may not.
    - `grad_clip`: clip each network's gradient to this global norm; None for no clipping.
    - `batch_size`: trials per training step.
    - `n_steps`: the step budget.
    - `eval_every`: steps per epoch; after each epoch the network is evaluated on a fixed
      held-out batch of `eval_batch_size` trials.
    - `loss_threshold`, `patience`: stop once the held-out loss has been below the
      threshold for `patience` consecutive epochs (SCIENCE.md §2 trains to the same
      loss, then 3 epochs of patience). None trains for the whole budget.
    - `l1`, `l2`, `nuclear`: penalties on the model's penalised weights (its recurrent
      matrix by default); `rate`: penalty on the mean squared firing rate.
    - `epochs_per_call`: epochs run inside one compiled call (fewer host round trips).
    - `noise`: draw process noise during training; None means "if the model has any".
    - `bptt_chunk`: memory-light backpropagation through time. Each trial runs in
      chunks of this many steps and the backward pass keeps only the state between
      chunks, recomputing a chunk's steps when it reaches them: memory grows like
      T / bptt_chunk + bptt_chunk instead of T (≈ 2√T with bptt_chunk ≈ √T), for about
      one extra forward pass. None (default) keeps every step. Same gradients either way.
    """

    optimizer: str = "adam"
    learning_rate: float = 1e-3
    optimizer_options: dict = dataclasses.field(default_factory=dict)
    grad_clip: float | None = None
    batch_size: int = 64
    n_steps: int = 2000
    eval_every: int = 100
    eval_batch_size: int = 256
    loss_threshold: float | None = None
    patience: int = 3
    l1: float = 0.0
    l2: float = 0.0
    nuclear: float = 0.0
    rate: float = 0.0
    epochs_per_call: int = 1
    noise: bool | None = None
    bptt_chunk: int | None = None

    def __post_init__(self):
        owner = "TrainConfig"
        split_options(self.optimizer, dict(self.optimizer_options))
        _checks.in_range(owner, "learning_rate", self.learning_rate, low=0.0, low_open=True)
        if self.grad_clip is not None:
            _checks.in_range(owner, "grad_clip", self.grad_clip, low=0.0, low_open=True)
        for name in ("batch_size", "n_steps", "eval_every", "eval_batch_size", "epochs_per_call"):
            _checks.positive_int(owner, name, getattr(self, name))
        _checks.positive_int(owner, "patience", self.patience, minimum=0)
        if self.eval_every > self.n_steps:
            raise ValueError(
                f"{owner}: eval_every={self.eval_every} is more than n_steps={self.n_steps}: an "
                f"epoch of eval_every steps would not fit the budget. Use eval_every <= n_steps "
                f"(e.g. eval_every={self.n_steps})."
            )
        if self.n_steps % self.eval_every:
            low = self.n_steps - self.n_steps % self.eval_every
            raise ValueError(
                f"{owner}: n_steps={self.n_steps} is not a whole number of epochs of "
                f"eval_every={self.eval_every} steps (training runs whole epochs). Use "
                f"n_steps={low} or {low + self.eval_every}, or an eval_every that divides it."
            )
        if self.bptt_chunk is not None:
            _checks.positive_int(owner, "bptt_chunk", self.bptt_chunk)
        if self.loss_threshold is not None:
            _checks.in_range(owner, "loss_threshold", self.loss_threshold, low=0.0, low_open=True)
        for name in ("l1", "l2", "nuclear", "rate"):
            _checks.in_range(owner, name, getattr(self, name), low=0.0)

    @property
    def n_epochs(self) -> int:
        return math.ceil(self.n_steps / self.eval_every)

    def numeric(self) -> dict:
        """The numbers that may differ across members of one compiled group."""
        numeric, _ = split_options(self.optimizer, dict(self.optimizer_options))
        out = {"learning_rate": self.learning_rate, **numeric}
        if self.grad_clip is not None:
            out["grad_clip"] = self.grad_clip
        return out

    def penalties(self) -> dict:
        return {k: getattr(self, k) for k in ("l1", "l2", "nuclear", "rate")}

    def static_key(self) -> tuple:
        """What must be equal for two configs to share one compiled program.

        Penalty strengths are not part of it: a group turns on every penalty that any of
        its members uses, and members without it get strength 0.
        """
        _, flags = split_options(self.optimizer, dict(self.optimizer_options))
        return (
            self.optimizer,
            tuple(sorted(flags.items())),
            self.grad_clip is not None,
            self.batch_size,
            self.eval_every,
            self.eval_batch_size,
            self.loss_threshold is not None,
            self.epochs_per_call,
            self.bptt_chunk,
            self.noise,
        )
