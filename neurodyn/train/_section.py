"""A `TrainConfig` and a curriculum from a spec's [train] section (a plain dict)."""

from .. import _checks
from .._optimizers import OPTIMIZERS
from ._config import TrainConfig
from ._curriculum import MultiHeadCurriculum, SingleHeadCurriculum, SlidingWindowCurriculum

CURRICULA = ("single_head", "multi_head", "sliding_window")


def _optimizer_options(optimizer: str) -> set[str]:
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer={optimizer!r} is not one of {sorted(OPTIMIZERS)}.{_checks.closest(str(optimizer), OPTIMIZERS)}")
    _, numeric, flags = OPTIMIZERS[optimizer]
    return set(numeric) | set(flags)


def curriculum_from_section(train: dict):
    """The curriculum a [train] section asks for (`curriculum = "multi_head"` ...), or None."""
    name = train.get("curriculum")
    options = {k[len("curriculum_"):]: v for k, v in train.items() if k.startswith("curriculum_")}
    if name is None:
        if options:
            raise ValueError(f"curriculum options {sorted(options)} are set but no `curriculum` is named; choose one of {list(CURRICULA)}.")
        return None
    if name not in CURRICULA:
        raise ValueError(f"curriculum={name!r} is not one of {list(CURRICULA)}.{_checks.closest(str(name), CURRICULA)}")
    classes = {"single_head": SingleHeadCurriculum, "multi_head": MultiHeadCurriculum, "sliding_window": SlidingWindowCurriculum}
    if name != "sliding_window" and "width" in options:
        raise ValueError("curriculum_width applies only to curriculum = \"sliding_window\".")
    if name == "sliding_window" and "width" not in options:
        raise ValueError("curriculum = \"sliding_window\" needs curriculum_width (how many N are trained together).")
    return classes[name](**options)


def train_config(train: dict):
    """A `TrainConfig` from a validated [train] section."""
    train = {k: v for k, v in train.items() if not k.startswith("curriculum")}
    optimizer = train.pop("optimizer", "adam")
    known_options = _optimizer_options(optimizer)
    options = {k: train.pop(k) for k in list(train) if k in known_options}
    schedule = train.pop("lr_schedule", None)
    schedule_options = {k[len("lr_"):]: train.pop(k) for k in list(train) if k.startswith("lr_")}
    ints = ("batch_size", "n_steps", "eval_every", "eval_batch_size", "patience", "epochs_per_call", "bptt_chunk")
    for k in ints:
        if k in train and isinstance(train[k], float) and train[k].is_integer():
            train[k] = int(train[k])
    floats = ("learning_rate", "grad_clip", "loss_threshold", "l1", "l2", "nuclear", "rate")
    for k in floats:
        if k in train and isinstance(train[k], int) and not isinstance(train[k], bool):
            train[k] = float(train[k])
    for k, v in list(options.items()):
        if isinstance(v, int) and not isinstance(v, bool):
            options[k] = float(v)
    return TrainConfig(
        optimizer=optimizer, optimizer_options=options, lr_schedule=schedule, lr_schedule_options=schedule_options, **train
    )


def check_train_section(train: dict) -> None:
    """Raise what building the section's `TrainConfig` and curriculum would raise."""
    train_config(train)
    curriculum_from_section(train)
