"""NeuroGym environments as tasks: a seeded bank of whole trials, sampled by key."""

import importlib
import inspect
import warnings
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, Int, PRNGKeyArray

from neurodyn import _checks
from neurodyn._types import Trial
from neurodyn.tasks._base import AbstractTask, masked_mean
from neurodyn.tasks._losses import masked_cross_entropy, masked_mse

INSTALL_HINT = 'pip install "neurodyn[neurogym]"'
#: streams of `np.random.SeedSequence([seed, stream])` for the banks drawn beside the training one
_HELD_OUT_STREAM, _OOD_STREAM = 1, 2


def _neurogym():
    try:
        return importlib.import_module("neurogym")
    except ImportError as err:
        raise ImportError(
            f"NeuroGymTask needs the optional dependency neurogym, which cannot be imported "
            f"({type(err).__name__}: {err}). Install the extra: {INSTALL_HINT} (it also installs "
            "torch, which neurogym imports without declaring it)."
        ) from err


class _TrialBank(eqx.Module):
    """Trials padded to one length: observations, targets (class labels or values), mask."""

    inputs: Float[Array, "bank time input"]
    targets: Int[Array, "bank time"] | Float[Array, "bank time output"]
    mask: Float[Array, "bank time"]


class NeuroGymTask(AbstractTask):
    """A NeuroGym environment as a task: whole trials drawn once, then sampled by key.

    The env `env_id` is made with `env_kwargs`, seeded through NeuroGym's own `env.seed`
    (a legacy `np.random.RandomState`) and asked for `n_trials` trials (`env.new_trial()`,
    then `env.ob`, `env.gt` and the periods `env.start_ind`/`env.end_ind`), padded to
    `n_time` and kept as array leaves; `sample` picks one inside compiled code, so the task
    vmaps and sweeps like any other. A held-out and an out-of-distribution bank come from
    the streams `SeedSequence([seed, 1])` and `[seed, 2]`. Discrete actions give one-hot
    targets and the masked cross-entropy, Box actions the env's values and the masked MSE;
    the mask is 1 in `loss_periods`.

    **Arguments:**

    - `env_id`: a registered NeuroGym id, e.g. "PerceptualDecisionMaking-v0".
    - `n_trials`: trials in the training bank.
    - `seed`: seeds every bank (integer in [0, 2**32 − 1]); the same seed, the same banks.
    - `n_held_out`: trials in the held-out and in the out-of-distribution bank.
    - `loss_periods`: where targets count: "decision" (default), a list of period names,
      or "all" (every step of the trial, as NeuroGym's `Dataset`).
    - `n_time`: the padded length; default the longest trial the env's timing allows when
      its durations are bounded (the same for every seed), else the longest one drawn.
    - `ood_period`: the period `ood()` stretches; default the first lasting period named
      like "delay", else "stimulus".
    - `ood_factor`: how many times longer that period lasts out of distribution.
    - `env_kwargs`: passed to the env (`dt`, `timing`, `sigma`, …).

    The metric (discrete actions) is the env's decision rule: the answer is the first
    masked step whose argmax leaves fixation, correct if it equals the target there; with
    no answer a trial is correct if its target is to keep fixating (NoGo). With the default
    mask this equals the env's `performance` (abort off); masking earlier periods makes
    leaving fixation there an error, as `abort=True` does. Box actions: the masked MSE.
    """

    parameter_ranges = {
        "env_id": "a NeuroGym environment id",
        "n_trials": "int >= 1",
        "seed": "int in [0, 2**32 - 1]",
        "n_held_out": "int >= 1",
        "loss_periods": "'decision', 'all', or a list of the env's period names",
        "n_time": "int >= the longest trial, or None",
        "ood_period": "one of the env's timing periods, or None",
        "ood_factor": "float > 0",
    }

    env_id: str = eqx.field(static=True)
    n_actions: int = eqx.field(static=True)
    categorical: bool = eqx.field(static=True)
    fixation: int | None = eqx.field(static=True)
    ood_period: str | None = eqx.field(static=True)
    ood_factor: float = eqx.field(static=True)
    bank: _TrialBank
    held_out_bank: _TrialBank
    ood_bank: _TrialBank | None

    def __init__(
        self,
        env_id: str,
        n_trials: int = 1024,
        seed: int = 0,
        *,
        n_held_out: int = 256,
        loss_periods: str | Sequence[str] = "decision",
        n_time: int | None = None,
        ood_period: str | None = None,
        ood_factor: float = 2.0,
        **env_kwargs,
    ):
        owner = "NeuroGymTask"
        if not isinstance(env_id, str):
            raise TypeError(f"{owner}: env_id must be a NeuroGym id such as 'GoNogo-v0', got {env_id!r}.")
        n_trials = _checks.positive_int(owner, "n_trials", n_trials)
        n_held_out = _checks.positive_int(owner, "n_held_out", n_held_out)
        seed = _checks.positive_int(owner, "seed", seed, minimum=0)
        if seed >= 2**32:
            raise ValueError(f"{owner}: seed={seed} must be below 2**32 (NeuroGym seeds a RandomState).")
        periods = _loss_periods(owner, loss_periods)
        if n_time is not None:
            n_time = _checks.positive_int(owner, "n_time", n_time)
        _checks.in_range(owner, "ood_factor", ood_factor, low=0.0, low_open=True)
        env_cls = NeuroGymTask.env_class(env_id)

        env = _make(env_id, env_kwargs, seed)
        from gymnasium import spaces

        space = env.action_space
        self.categorical = isinstance(space, spaces.Discrete)
        if not self.categorical and not isinstance(space, spaces.Box):
            raise TypeError(
                f"{owner}: {env_id} has a {type(space).__name__} action space; only Discrete "
                "(classes) and Box (values) action spaces become targets."
            )
        self.n_actions = int(space.n) if self.categorical else int(np.prod(space.shape))
        names = getattr(space, "name", None)
        fixation = names.get("fixation") if isinstance(names, dict) else None
        self.fixation = int(fixation) if isinstance(fixation, (int, np.integer)) else None
        self.env_id = env_id

        train = _draw(env, env_id, n_trials, periods)
        held = _draw(_make(env_id, env_kwargs, _stream(seed, _HELD_OUT_STREAM)), env_id, n_held_out, periods)
        longest = max(len(t[0]) for t in train + held)
        bound = _timing_bound(env)
        if n_time is None:
            n_time = bound if bound is not None and bound >= longest else longest
        elif n_time < longest:
            raise ValueError(
                f"{owner}: n_time={n_time} is shorter than the longest trial drawn ({longest} "
                f"steps of {env_id}); use n_time >= {longest} or None."
            )
        self.bank = _pad(train, n_time, self.categorical)
        self.held_out_bank = _pad(held, n_time, self.categorical)

        self.ood_factor = float(ood_factor)
        self.ood_period = _ood_period(owner, env, env_cls, ood_period)
        self.ood_bank = None
        if self.ood_period is not None:
            timing = dict(env_kwargs.get("timing") or {})
            timing[self.ood_period] = _stretch(env.timing[self.ood_period], self.ood_factor)
            ood_env = _make(env_id, {**env_kwargs, "timing": timing}, _stream(seed, _OOD_STREAM))
            ood = _draw(ood_env, env_id, n_held_out, periods)
            ood_bound = _timing_bound(ood_env)
            ood_longest = max(len(t[0]) for t in ood)
            ood_time = ood_bound if ood_bound is not None and ood_bound >= ood_longest else ood_longest
            self.ood_bank = _pad(ood, max(ood_time, n_time), self.categorical)

    @staticmethod
    def env_class(env_id: str) -> type:
        """The environment class registered as `env_id` (imports neurogym)."""
        _neurogym()
        import gymnasium

        registry = gymnasium.envs.registry
        spec = registry.get(env_id)
        known = [k for k, s in registry.items() if str(s.entry_point).startswith("neurogym.")]
        if spec is None or env_id not in known:
            raise ValueError(
                f"NeuroGymTask: unknown NeuroGym environment {env_id!r}.{_checks.closest(env_id, known)} "
                f"Known environments: {sorted(known)}."
            )
        module, _, name = str(spec.entry_point).partition(":")
        env_cls = getattr(importlib.import_module(module), name)
        trial_env = importlib.import_module("neurogym.core").TrialEnv
        if not (isinstance(env_cls, type) and issubclass(env_cls, trial_env)):
            raise ValueError(
                f"NeuroGymTask: {env_id!r} is made by {name}, not a NeuroGym TrialEnv class "
                "(collections built from wrappers are not supported); use one of its envs."
            )
        return env_cls

    @property
    def loss(self) -> str:
        return "cross_entropy" if self.categorical else "mse"

    @property
    def metric_name(self) -> str:
        return "performance" if self.categorical else "mse"

    @property
    def higher_is_better(self) -> bool:
        return self.categorical

    @property
    def input_size(self) -> int:
        return self.bank.inputs.shape[-1]

    @property
    def output_size(self) -> int:
        return self.n_actions

    @property
    def n_time(self) -> int:
        return self.bank.inputs.shape[-2]

    @property
    def n_trials(self) -> int:
        return self.bank.inputs.shape[-3]

    def sample(self, *, key: PRNGKeyArray, condition=None) -> Trial:
        index = jr.randint(key, (), 0, self.n_trials)
        inputs, targets, mask = (x[index] for x in (self.bank.inputs, self.bank.targets, self.bank.mask))
        if self.categorical:
            targets = jax.nn.one_hot(targets, self.n_actions, dtype=inputs.dtype)
        mask = jnp.broadcast_to(mask[:, None], (self.n_time, self.n_actions))
        return Trial(inputs=inputs, targets=targets, mask=mask)

    def batch_loss(
        self, outputs: Float[Array, "trial time output"], trials: Trial, *, key: PRNGKeyArray | None = None
    ) -> Float[Array, ""]:
        """Masked cross-entropy of the actions' logits (discrete actions), or masked MSE."""
        if self.categorical:
            return masked_cross_entropy(outputs, trials.targets, trials.mask, n_classes=self.n_actions)
        return masked_mse(outputs, trials.targets, trials.mask)

    def metric(self, output: Float[Array, "time output"], trial: Trial) -> Float[Array, ""]:
        """The env's decision rule on one trial (1 correct, 0 not), or the masked MSE."""
        if not self.categorical:
            return masked_mean((output - trial.targets) ** 2, trial.mask)
        steps = trial.mask[:, 0] > 0
        action = jnp.argmax(output, axis=-1)
        label = jnp.argmax(trial.targets, axis=-1)
        if self.fixation is None:
            return masked_mean((action == label).astype(output.dtype), steps.astype(output.dtype))
        responded = steps & (action != self.fixation)
        first = jnp.argmax(responded)
        last = self.n_time - 1 - jnp.argmax(steps[::-1])
        correct = jnp.where(responded.any(), action[first] == label[first], label[last] == self.fixation)
        return (correct & steps.any()).astype(output.dtype)

    def held_out(self) -> "NeuroGymTask":
        """The same task sampling from its held-out bank (for evaluation)."""
        return eqx.tree_at(lambda t: t.bank, self, self.held_out_bank)

    def ood(self) -> "NeuroGymTask":
        """The task with `ood_period` lasting `ood_factor` times longer (its own bank)."""
        if self.ood_bank is None and self.ood_period is None:
            raise ValueError(
                f"NeuroGymTask({self.env_id!r}): no out-of-distribution variant, since its env has "
                "no delay or stimulus period to stretch. Pass ood_period= one of its timing "
                "periods (a number or a bounded distribution) when constructing the task."
            )
        if self.ood_bank is None:
            raise ValueError(
                f"NeuroGymTask({self.env_id!r}) is already the out-of-distribution variant "
                f"({self.ood_period} x {self.ood_factor:g}); call ood() on the original task."
            )
        return eqx.tree_at(
            lambda t: (t.bank, t.held_out_bank, t.ood_bank),
            self,
            (self.ood_bank, self.ood_bank, None),
            is_leaf=lambda x: x is None,
        )


def _loss_periods(owner: str, value) -> tuple[str, ...] | None:
    if value == "all":
        return None
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, Sequence) or not value or not all(isinstance(p, str) for p in value):
        raise TypeError(
            f"{owner}: loss_periods must be 'all', a period name or a list of period names, got {value!r}."
        )
    return tuple(value)


def _stream(seed: int, stream: int) -> int:
    return int(np.random.SeedSequence([seed, stream]).generate_state(1)[0])


def _make(env_id: str, env_kwargs: dict, seed: int):
    """A fresh env, seeded through NeuroGym's own `seed` (its RandomState and timings)."""
    neurogym = _neurogym()
    with warnings.catch_warnings():
        # gymnasium asks every env for render modes, which no NeuroGym env declares
        warnings.filterwarnings("ignore", message=".*render_modes", category=UserWarning)
        env = neurogym.make(env_id, **env_kwargs).unwrapped
    env.seed(seed)
    return env


def _draw(env, env_id: str, n: int, periods: tuple[str, ...] | None) -> list[tuple]:
    """`n` trials as (observations, targets, mask) in NeuroGym's own order."""
    trials = []
    for k in range(n):
        env.start_ind.clear()  # periods are set anew by each trial
        env.end_ind.clear()
        env.new_trial()
        ob, gt = np.asarray(env.ob, dtype=np.float32), getattr(env, "gt", None)
        if ob.ndim != 2:
            raise ValueError(f"NeuroGymTask: {env_id} has observations of shape {ob.shape[1:]}; only vectors are supported.")
        if gt is None or len(gt) != len(ob) or not getattr(env, "_gt_built", True):
            raise ValueError(f"NeuroGymTask: {env_id} defines no ground truth (env.gt) for its trials.")
        mask = np.zeros(len(ob), np.float32)
        for period in env.start_ind if periods is None else periods:
            if period not in env.start_ind:
                raise ValueError(
                    f"NeuroGymTask: {env_id} trial {k} has no period {period!r} for loss_periods; "
                    f"its periods are {list(env.start_ind)}.{_checks.closest(period, env.start_ind)} "
                    "Pass loss_periods= some of them, or 'all'."
                )
            mask[env.start_ind[period] : env.end_ind[period]] = 1.0
        trials.append((ob, np.asarray(gt), mask))
    if not any(t[2].any() for t in trials):
        raise ValueError(
            f"NeuroGymTask: loss_periods={periods} cover no step of any {env_id} trial; "
            "the periods last zero steps. Choose periods that last, or 'all'."
        )
    return trials


def _pad(trials: list[tuple], n_time: int, categorical: bool) -> _TrialBank:
    n, n_in = len(trials), trials[0][0].shape[1]
    inputs = np.zeros((n, n_time, n_in), np.float32)
    targets = np.zeros((n, n_time) + trials[0][1].shape[1:], np.int32 if categorical else np.float32)
    mask = np.zeros((n, n_time), np.float32)
    for i, (ob, gt, m) in enumerate(trials):
        inputs[i, : len(ob)], targets[i, : len(ob)], mask[i, : len(ob)] = ob, gt, m
    if not categorical:
        targets = targets.reshape(n, n_time, -1)
    return _TrialBank(jnp.asarray(inputs), jnp.asarray(targets), jnp.asarray(mask))


def _longest(value) -> float | None:
    """The longest duration (ms) a NeuroGym timing entry can draw; None when unbounded."""
    if isinstance(value, (int, float, np.number)):
        return float(value)
    if hasattr(value, "vmax"):  # a TruncExp
        return float(value.vmax) if np.isfinite(value.vmax) else None
    if isinstance(value, (list, tuple)) and value:
        if isinstance(value[0], (int, float, np.number)):
            return float(max(value))
        dist, args = value[0], value[1] if len(value) > 1 else None
        if dist == "constant":
            return float(args)
        if dist in ("uniform", "choice"):
            return float(max(args))
        if dist == "truncated_exponential" and len(args) >= 3 and np.isfinite(args[2]):
            return float(args[2])
    return None


def _timing_bound(env) -> int | None:
    """Steps of the longest trial whose periods follow one another; None when unknown."""
    longest = [_longest(v) for v in env.timing.values()]
    if not longest or any(v is None for v in longest):
        return None
    return int(sum(v // env.dt for v in longest))


def _stretch(value, factor: float):
    """A timing entry whose every duration is `factor` times longer."""
    if isinstance(value, (int, float, np.number)):
        return value * factor
    if hasattr(value, "vmax"):
        return type(value)(value.vmean * factor, value.vmin * factor, value.vmax * factor)
    if isinstance(value[0], (int, float, np.number)):
        return type(value)(v * factor for v in value)
    dist, args = value
    scaled = args * factor if isinstance(args, (int, float, np.number)) else [a * factor for a in args]
    return (dist, scaled)


def _stretchable(value) -> bool:
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], str):
        return value[0] in ("constant", "uniform", "choice", "truncated_exponential")
    return _longest(value) is not None or hasattr(value, "vmax")


def _ood_period(owner: str, env, env_cls, period: str | None) -> str | None:
    if "timing" not in inspect.signature(env_cls.__init__).parameters:
        if period is not None:
            raise ValueError(f"{owner}: ood_period={period!r}, but {env_cls.__name__} takes no timing to stretch.")
        return None
    if period is not None:
        if period not in env.timing or not _stretchable(env.timing[period]):
            raise ValueError(
                f"{owner}: ood_period={period!r} is not a stretchable timing period of "
                f"{env_cls.__name__}; its timing is {env.timing}.{_checks.closest(period, env.timing)}"
            )
        return period
    for candidate in [p for p in env.timing if "delay" in p] + ["stimulus"]:
        value = env.timing.get(candidate)
        if value is not None and _stretchable(value) and (_longest(value) or 0) > 0:
            return candidate
    return None
