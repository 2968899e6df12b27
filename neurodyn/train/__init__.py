"""Training: losses, optimisers, the pure training step and `fit`."""

from ._accuracy_by_n import accuracy_by_n as accuracy_by_n
from ._config import TrainConfig as TrainConfig
from ._curriculum import (
    AbstractCurriculum as AbstractCurriculum,
    CurriculumState as CurriculumState,
    MultiHeadCurriculum as MultiHeadCurriculum,
    SingleHeadCurriculum as SingleHeadCurriculum,
    SlidingWindowCurriculum as SlidingWindowCurriculum,
)
from ._fit import (
    TRACE_COUNTS as TRACE_COUNTS,
    History as History,
    fit as fit,
    run_chunk as run_chunk,
    run_chunk_vmapped as run_chunk_vmapped,
)
from ._losses import (
    l1_penalty as l1_penalty,
    l2_penalty as l2_penalty,
    masked_cross_entropy as masked_cross_entropy,
    masked_mse as masked_mse,
    nuclear_penalty as nuclear_penalty,
    rate_penalty as rate_penalty,
)
from ._optim import make_optimizer as make_optimizer
from ._trainer import Logs as Logs, Trainer as Trainer, TrainState as TrainState
