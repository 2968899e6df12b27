"""Training: losses, optimisers, the pure training step and `fit`."""

from ._accuracy_by_n import accuracy_by_n as accuracy_by_n
from ._config import TrainConfig as TrainConfig
from ._curriculum import (
    AbstractCurriculum as AbstractCurriculum,
)
from ._curriculum import (
    CurriculumState as CurriculumState,
)
from ._curriculum import (
    MultiHeadCurriculum as MultiHeadCurriculum,
)
from ._curriculum import (
    SingleHeadCurriculum as SingleHeadCurriculum,
)
from ._curriculum import (
    SlidingWindowCurriculum as SlidingWindowCurriculum,
)
from ._fit import (
    TRACE_COUNTS as TRACE_COUNTS,
)
from ._fit import (
    History as History,
)
from ._fit import (
    fit as fit,
)
from ._fit import (
    run_chunk as run_chunk,
)
from ._fit import (
    run_chunk_vmapped as run_chunk_vmapped,
)
from ._group import fit_group as fit_group
from ._losses import (
    l1_penalty as l1_penalty,
)
from ._losses import (
    l2_penalty as l2_penalty,
)
from ._losses import (
    masked_cross_entropy as masked_cross_entropy,
)
from ._losses import (
    masked_mse as masked_mse,
)
from ._losses import (
    nuclear_penalty as nuclear_penalty,
)
from ._losses import (
    rate_penalty as rate_penalty,
)
from ._members import LAYOUTS as LAYOUTS
from ._members import member_mesh as member_mesh
from ._members import over_members as over_members
from ._members import use_cpu_cores as use_cpu_cores
from ._optim import make_optimizer as make_optimizer
from ._section import check_train_section as check_train_section
from ._section import curriculum_from_section as curriculum_from_section
from ._section import train_config as train_config
from ._trainer import Logs as Logs
from ._trainer import Trainer as Trainer
from ._trainer import TrainState as TrainState
