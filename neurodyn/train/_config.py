"""Training configuration: what to optimise, for how long, and when to stop."""

import dataclasses
import math
from collections.abc import Callable

import optax

from .. import _checks
from ._optim import split_options
from ._schedules import SCHEDULES, check_schedule

#: `neurodyn.parallel.evaluate`'s methods (kept here so building a config imports no solver)
TIME_SOLVERS = ("scan", "deer", "quasi_deer", "elk", "quasi_elk", "auto")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How one network (or every member of a group) is trained.

    **Arguments:**

    - `optimizer`: an optax optimiser by name ("adam", "adamw", "sgd", "rmsprop",
      "adagrad", "lion"), or any `optax.GradientTransformation` (e.g.
      `optax.chain(optax.add_decayed_weights(1e-4), optax.adabelief(1e-3))`), used as
      given: it carries its own learning rate, so `learning_rate`, `lr_schedule` and
      `optimizer_options` do not apply, and its numbers are the same for every member.
    - `learning_rate`: step size (> 0), the peak (or initial) value of `lr_schedule`; or
      an optax schedule (a function of the step count, e.g.
      `optax.warmup_cosine_decay_schedule(0.0, 1e-3, 100, 2000)`), the same for every
      member.
    - `optimizer_options`: further options, e.g. `{"momentum": 0.1, "nesterov": True}`;
      numbers may differ across members of a group, flags may not.
    - `lr_schedule`, `lr_schedule_options`: a learning-rate schedule by name, with its
      options (TOML: `lr_schedule = "warmup_cosine_decay"`, `lr_warmup_steps = 100`,
      `lr_decay_steps = 2000`, …). The formulas are optax's, the numbers array leaves, so
      members with different numbers share one compiled program:
      "constant"; "linear" (`end_value`, `transition_steps`, `transition_begin` = 0);
      "cosine_decay" (`decay_steps`, `alpha` = 0, `exponent` = 1); "exponential_decay"
      (`transition_steps`, `decay_rate`, `transition_begin` = 0, `end_value`,
      `staircase` = false); "warmup_cosine_decay" (`warmup_steps`, `decay_steps`,
      `init_value` = 0, `end_value` = 0, `exponent` = 1); "warmup_exponential_decay"
      (`warmup_steps`, `transition_steps`, `decay_rate`, `init_value` = 0,
      `transition_begin` = 0, `end_value`, `staircase` = false). Steps count optimiser
      updates (training steps).
    - `grad_clip`: clip each network's gradient to this global norm; None for no clipping.
    - `batch_size`: trials per training step.
    - `n_steps`: the step budget.
    - `eval_every`: steps per epoch; after each epoch the network is evaluated on a fixed
      held-out batch of `eval_batch_size` trials.
    - `loss_threshold`, `patience`: stop once the held-out loss has been below the
      threshold for `patience` consecutive epochs (docs/studies/degeneracy.md trains to the same
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
    - `time_solver`: how each trial's time axis is run: "scan" (default, the sequential
      `lax.scan`), or a parallel-in-time method of `neurodyn.parallel.evaluate` ("deer",
      "quasi_deer", "elk", "quasi_elk", "auto"): Newton's method over the whole trial,
      O(log T) depth, gradients implicit at the solution (one reverse associative scan).
      It pays on GPUs for long trials; on a CPU the scan is faster ("auto" scans there).
      Not combined with `bptt_chunk`.
    """

    optimizer: str | optax.GradientTransformation = "adam"
    learning_rate: float | Callable = 1e-3
    optimizer_options: dict = dataclasses.field(default_factory=dict)
    lr_schedule: str | None = None
    lr_schedule_options: dict = dataclasses.field(default_factory=dict)
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
    time_solver: str = "scan"

    def __post_init__(self):
        owner = "TrainConfig"
        self._check_optimizer(owner)
        if self.grad_clip is not None:
            _checks.in_range(owner, "grad_clip", self.grad_clip, low=0.0, low_open=True)
        for name in ("batch_size", "n_steps", "eval_every", "eval_batch_size", "epochs_per_call"):
            _checks.positive_int(owner, name, getattr(self, name))
        _checks.positive_int(owner, "patience", self.patience, minimum=0)
        if self.noise is not None and not isinstance(self.noise, bool):
            raise TypeError(
                f"{owner}: noise must be True, False or None (None: draw process noise if the "
                f"model has any), got {self.noise!r}."
            )
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
        _checks.choice(owner, "time_solver", self.time_solver, TIME_SOLVERS)
        if self.time_solver != "scan" and self.bptt_chunk is not None:
            raise ValueError(
                f"{owner}: time_solver={self.time_solver!r} and bptt_chunk={self.bptt_chunk} cannot be combined: "
                "the parallel solve keeps the whole trajectory and differentiates implicitly. Drop one of them."
            )
        if self.loss_threshold is not None:
            _checks.in_range(owner, "loss_threshold", self.loss_threshold, low=0.0, low_open=True)
        for name in ("l1", "l2", "nuclear", "rate"):
            _checks.in_range(owner, name, getattr(self, name), low=0.0)

    def _check_optimizer(self, owner):
        custom = isinstance(self.optimizer, optax.GradientTransformation)
        if not custom and not isinstance(self.optimizer, str):
            raise TypeError(
                f"{owner}: optimizer must be an optimiser's name or an optax.GradientTransformation, got "
                f"{self.optimizer!r} of type {type(self.optimizer).__name__}. For an optax alias, call it: "
                "optimizer=optax.adabelief(1e-3)."
            )
        if not isinstance(self.optimizer_options, dict) or not isinstance(self.lr_schedule_options, dict):
            raise TypeError(f"{owner}: optimizer_options and lr_schedule_options must be dicts.")
        if custom:
            given = [k for k, v in (("optimizer_options", self.optimizer_options), ("lr_schedule", self.lr_schedule),
                                    ("lr_schedule_options", self.lr_schedule_options)) if v]
            if given:
                raise ValueError(
                    f"{owner}: {', '.join(given)} cannot be combined with an optax.GradientTransformation "
                    "optimizer, which carries its own learning rate and settings; build them into the "
                    "transformation (e.g. optax.adam(optax.cosine_decay_schedule(1e-3, 2000)))."
                )
            return
        split_options(self.optimizer, dict(self.optimizer_options))
        if callable(self.learning_rate):
            if self.lr_schedule is not None:
                raise ValueError(
                    f"{owner}: learning_rate is already a schedule (a callable); lr_schedule={self.lr_schedule!r} "
                    "would be a second one. Give one of them."
                )
            try:
                first = float(self.learning_rate(0))
            except Exception as err:  # whatever the user's schedule raises
                raise TypeError(
                    f"{owner}: learning_rate is a callable but learning_rate(0) failed ({type(err).__name__}: "
                    f"{err}); a schedule maps the step count to a learning rate, like optax's schedules."
                ) from None
            if not math.isfinite(first) or first < 0:
                raise ValueError(f"{owner}: the learning_rate schedule gives {first} at step 0; it must be >= 0.")
        else:
            _checks.in_range(owner, "learning_rate", self.learning_rate, low=0.0, low_open=True)
        if self.lr_schedule is None:
            if self.lr_schedule_options:
                raise ValueError(
                    f"{owner}: lr_schedule_options {sorted(self.lr_schedule_options)} are set but no lr_schedule is "
                    f"named; choose one of {list(SCHEDULES)}."
                )
        else:
            check_schedule(owner, self.lr_schedule, dict(self.lr_schedule_options))

    def schedule_numbers(self) -> tuple[dict, dict]:
        """The learning-rate schedule's numbers (defaults filled) and flags."""
        if self.lr_schedule is None:
            return {}, {}
        return check_schedule("TrainConfig", self.lr_schedule, dict(self.lr_schedule_options))

    @property
    def n_epochs(self) -> int:
        return math.ceil(self.n_steps / self.eval_every)

    def numeric(self) -> dict:
        """The numbers that may differ across members of one compiled group."""
        out = {}
        if not isinstance(self.optimizer, optax.GradientTransformation):
            numeric, _ = split_options(self.optimizer, dict(self.optimizer_options))
            if not callable(self.learning_rate):
                out["learning_rate"] = self.learning_rate
            out.update(numeric)
            numbers, _ = self.schedule_numbers()
            out.update({f"lr_{k}": float(v) for k, v in numbers.items()})
        if self.grad_clip is not None:
            out["grad_clip"] = self.grad_clip
        return out

    def penalties(self) -> dict:
        return {k: getattr(self, k) for k in ("l1", "l2", "nuclear", "rate")}

    def static_key(self) -> tuple:
        """What must be equal for two configs to share one compiled program (or one
        host loop: the step budget and the patience are read once per group).

        Penalty strengths are not part of it: a group turns on every penalty that any of
        its members uses, and members without it get strength 0.
        """
        if isinstance(self.optimizer, optax.GradientTransformation):
            flags, schedule = {}, (None, (), ())
        else:
            _, flags = split_options(self.optimizer, dict(self.optimizer_options))
            numbers, schedule_flags = self.schedule_numbers()
            schedule = (self.lr_schedule, tuple(sorted(numbers)), tuple(sorted(schedule_flags.items())))
        lr = self.learning_rate if callable(self.learning_rate) else None
        return (
            self.optimizer,
            tuple(sorted(flags.items())),
            tuple(sorted(k for k in self.numeric() if k != "grad_clip")),
            schedule,
            lr,
            self.grad_clip is not None,
            self.batch_size,
            self.n_steps,
            self.patience,
            self.eval_every,
            self.eval_batch_size,
            self.loss_threshold is not None,
            self.epochs_per_call,
            self.bptt_chunk,
            self.time_solver,
            self.noise,
        )
