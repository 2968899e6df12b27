"""What neurodyn offers by name: the model, task and optimiser registries."""

import dataclasses
import functools
import inspect

from .. import models as _models
from .. import tasks as _tasks
from .._optimizers import OPTIMIZERS as _OPTIMIZERS
from ._registry import Entry, Param, Registry, describe

_ACTIVATIONS = ("tanh", "relu", "leaky_relu", "softplus", "linear")
_POS_INT = {"kind": "int", "low": 1}
_POS = {"kind": "float", "low": 0.0, "low_open": True}
_NONNEG = {"kind": "float", "low": 0.0}
_PROB = {"kind": "float", "low": 0.0, "high": 1.0}

#: Allowed ranges and choices, per class, for parameters whose default alone does not say.
MODEL_RANGES = {
    "CTRNN": {
        "hidden_size": _POS_INT,
        "tau": {**_POS, "array": True},  # one τ, or one per unit
        "dt": _POS,
        "activation": {"choices": _ACTIVATIONS},
        "formulation": {"choices": ("voltage", "rate")},
        "solver": {"choices": ("euler", "heun")},
        "noise_std": _NONNEG,
        "excitatory_fraction": {"kind": "float", "low": 0.0, "high": 1.0, "low_open": True, "high_open": True},
        # a density in (0, 1], or a fixed mask [hidden, hidden] of entries in [0, 1]
        "connectivity": {"kind": "float", "low": 0.0, "high": 1.0, "low_open": True, "nullable": True,
                         "array": True, "entry_low_open": False},
        "init": {"choices": ("gain", "uniform", "mup")},
        "gain": _NONNEG,
        "gamma": _POS,
    },
    "LeakyRateRNN": {
        "hidden_size": _POS_INT,
        "leak": {"choices": ("post", "pre")},
        "tau": {"kind": "float", "low": 1.0, "nullable": True},
        "activation": {"choices": _ACTIVATIONS},
        "noise_std": _NONNEG,
        "init": {"choices": ("gain", "uniform")},
        "gain": _NONNEG,
    },
    "VanillaRNN": {
        "hidden_size": _POS_INT,
        "activation": {"choices": _ACTIVATIONS},
        "noise_std": _NONNEG,
        "init": {"choices": ("gain", "uniform", "mup")},
        "gain": _NONNEG,
        "gamma": _POS,
    },
    "GRU": {"hidden_size": _POS_INT, "noise_std": _NONNEG, "init": {"choices": ("gain", "uniform")}, "gain": _NONNEG},
    "LSTM": {"hidden_size": _POS_INT, "noise_std": _NONNEG, "init": {"choices": ("gain", "uniform")}, "gain": _NONNEG},
    "LowRankRNN": {
        "hidden_size": _POS_INT,
        "rank": _POS_INT,
        "tau": _POS,
        "dt": _POS,
        "activation": {"choices": _ACTIVATIONS},
        "solver": {"choices": ("euler", "heun")},
        "noise_std": _NONNEG,
    },
}

_NULL_POS_INT = {"kind": "int", "low": 1, "nullable": True}
_SEQUENCE = {
    "n": _POS_INT,
    "n_cap": _NULL_POS_INT,
    "heads": {"choices": ("single", "multi")},
    "length_factor": _POS_INT,
    "n_time": _NULL_POS_INT,
}

TASK_RANGES = {
    "Parity": _SEQUENCE,
    "DelayedMatchToSample": _SEQUENCE,
    "DelayedDiscrimination": {
        "n_channels": _POS_INT,
        "f_low": _POS,
        "f_high": _POS,
        "delay_min": _POS_INT,
        "delay_max": _POS_INT,
        "delay_cap": _NULL_POS_INT,
        "pulse_width": _POS_INT,
        "t_pre": {"kind": "int", "low": 0},
        "response_time": _POS_INT,
    },
    "SineGeneration": {"n_channels": _POS_INT, "f_low": _POS, "f_high": _POS, "dt": _POS, "n_time": _POS_INT},
    "PathIntegration": {"dims": {"kind": "int", "choices": (2, 3)}, "n_time": _POS_INT, "box": _POS, "speed_max": _POS, "turn_std": _NONNEG},
    "HeadDirection": {"n_time": _POS_INT, "angular_std": _NONNEG},
    "HMMEmulation": {
        "hmm": {"choices": ("linear_chain", "fully_connected", "cyclic")},
        "n_states": {"kind": "int", "low": 2, "high": 5, "nullable": True},
        "n_time": _POS_INT,
        "input_size": _POS_INT,
        "noise_std": _POS,
        "temperature": _POS,
        "blur": _POS,
        "n_iter": _POS_INT,
    },
    "NeuroGymTask": {
        "n_trials": _POS_INT,
        "seed": {"kind": "int", "low": 0, "high": 2**32 - 1},
        "n_held_out": _POS_INT,
        "loss_periods": {"kind": "any"},
        "n_time": _NULL_POS_INT,
        "ood_period": {"kind": "str", "nullable": True},
        "ood_factor": _POS,
    },
    "FlipFlop": {
        "n_bits": _POS_INT,
        "p": {"kind": "float", "low": 0.0, "high": 1.0, "low_open": True},
        "pulse_width": _POS_INT,
        "n_time": _POS_INT,
        "input_noise": _NONNEG,
    },
}

_MODEL_NAMES = {
    "ctrnn": "CTRNN",
    "leaky_rate": "LeakyRateRNN",
    "vanilla": "VanillaRNN",
    "gru": "GRU",
    "lstm": "LSTM",
    "low_rank": "LowRankRNN",
}


def _ranges_for(table: dict, cls) -> dict:
    """The range table entries that name real constructor parameters of `cls`."""
    import inspect

    ranges = table.get(cls.__name__, {})
    params = inspect.signature(cls.__init__ if "__init__" in cls.__dict__ else cls).parameters
    return {k: v for k, v in ranges.items() if k in params}


MODELS = Registry("model", base=_models.AbstractRNN)
for _name, _clsname in _MODEL_NAMES.items():
    _cls = getattr(_models, _clsname, None)
    if _cls is not None:
        MODELS.register(
            _name,
            describe(_cls, _ranges_for(MODEL_RANGES, _cls), implicit=("input_size", "output_size"), name=_name),
        )

TASKS = Registry("task", base=_tasks.AbstractTask)
for _name, _cls in getattr(_tasks, "TASKS", {"flipflop": _tasks.FlipFlop}).items():
    TASKS.register(_name, describe(_cls, _ranges_for(TASK_RANGES, _cls), name=_name))


@functools.cache
def _neurogym_entry(env_id: str) -> Entry:
    """`neurogym:<env_id>`: NeuroGymTask's parameters and the environment's own."""
    env_cls = _tasks.NeuroGymTask.env_class(env_id)
    task = describe(_tasks.NeuroGymTask, _ranges_for(TASK_RANGES, _tasks.NeuroGymTask))
    params = {k: p for k, p in task.params.items() if k != "env_id"}
    for pname, p in describe(env_cls).params.items():
        params.setdefault(pname, dataclasses.replace(p, doc=p.doc or f"{env_cls.__name__} parameter"))
    summary = (inspect.getdoc(env_cls) or env_cls.__name__).split("\n")[0]
    return Entry(
        name=f"neurogym:{env_id}",
        cls=functools.partial(_tasks.NeuroGymTask, env_id),
        params=params,
        summary=f"NeuroGym {env_id}: {summary}",
    )


TASKS.register_prefix(
    "neurogym", _neurogym_entry, "A NeuroGym environment is named 'neurogym:<EnvId>', e.g. 'neurogym:GoNogo-v0'."
)

OPTIMIZERS = Registry(
    "optimizer",
    custom=(
        "Any other optax optimiser is given in Python, as TrainConfig(optimizer=<an "
        "optax.GradientTransformation>); a spec names one of these."
    ),
)
for _name, (_factory, _numeric, _flags) in _OPTIMIZERS.items():
    _params = {"learning_rate": Param("learning_rate", 1e-3, **_POS, doc="step size")}
    for _opt, (_lo, _hi) in _numeric.items():
        _params[_opt] = Param(_opt, None, kind="float", low=_lo, high=_hi, nullable=True)
    for _flag in _flags:
        _params[_flag] = Param(_flag, False, kind="bool")
    OPTIMIZERS.register(
        _name,
        Entry(name=_name, cls=_factory, params=_params, summary=(_factory.__doc__ or "").strip().split("\n")[0]),
    )
