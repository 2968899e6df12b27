"""Sine-wave generation from a static frequency cue (Huang et al. 2025)."""

from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, PRNGKeyArray

from neurodyn import _checks
from neurodyn._types import Trial
from neurodyn.tasks._base import AbstractTask, masked_mean
from neurodyn.tasks._params import float_leaf, ordered

#: The input coding u = f / FREQUENCY_SCALE + INPUT_OFFSET: fixed, so that a wider or
#: shifted frequency range keeps the meaning of an input level; the offset keeps the
#: slowest cue (f = 1 → 0.283) far from the no-input level 0.
FREQUENCY_SCALE = 30.0
INPUT_OFFSET = 0.25


class SineGeneration(AbstractTask):
    """Generate sin(2π f t) for a frequency f cued by a constant input.

    Per channel and trial f ~ U[f_low, f_high]; input channel i holds the constant
    u_i = f_i / 30 + 0.25 for the whole trial, and output i must be sin(2π f_i t_k) at
    step k, with t_k = k · dt (so the target starts at 0 on the first step). With the
    default dt = 0.005 (time in seconds) and 100 steps a trial lasts 0.5 s: half a cycle
    at 1 Hz, 15 cycles at 30 Hz (6.7 steps per cycle, well above the 2 of Nyquist). The
    mask is 1 everywhere.

    **Arguments:**

    - `n_channels`: independent channels (inputs = outputs = n_channels).
    - `f_low`: the lowest frequency (array leaf, 0 ≤ f_low < f_high).
    - `f_high`: the highest frequency (array leaf).
    - `dt`: time step (array leaf, > 0).
    - `n_time`: trial length in steps.

    The metric is the mean squared error (lower is better); OOD doubles the trial length.
    """

    metric_name: ClassVar[str] = "mse"
    higher_is_better: ClassVar[bool] = False
    parameter_ranges: ClassVar[dict[str, str]] = {
        "n_channels": "int >= 1",
        "f_low": "float >= 0, < f_high",
        "f_high": "float > f_low",
        "dt": "float > 0",
        "n_time": "int >= 1",
    }

    n_channels: int = eqx.field(static=True)
    n_steps: int = eqx.field(static=True)
    f_low: Float[Array, ""]
    f_high: Float[Array, ""]
    dt: Float[Array, ""]

    def __init__(
        self,
        n_channels: int = 1,
        f_low: float = 1.0,
        f_high: float = 30.0,
        dt: float = 0.005,
        n_time: int = 100,
    ):
        owner = "SineGeneration"
        self.n_channels = _checks.positive_int(owner, "n_channels", n_channels)
        self.n_steps = _checks.positive_int(owner, "n_time", n_time)
        ordered(owner, "f_low", f_low, "f_high", f_high, strict=True)
        self.f_low = float_leaf(owner, "f_low", f_low, low=0.0)
        self.f_high = float_leaf(owner, "f_high", f_high, low=0.0)
        self.dt = float_leaf(owner, "dt", dt, low=0.0, low_open=True)

    @property
    def input_size(self) -> int:
        return self.n_channels

    @property
    def output_size(self) -> int:
        return self.n_channels

    @property
    def n_time(self) -> int:
        return self.n_steps

    def sample(self, *, key: PRNGKeyArray, condition=None) -> Trial:
        f = jr.uniform(key, (self.n_channels,), minval=self.f_low, maxval=self.f_high)
        t = jnp.arange(self.n_steps)[:, None] * self.dt
        inputs = jnp.broadcast_to(f / FREQUENCY_SCALE + INPUT_OFFSET, (self.n_steps, self.n_channels))
        targets = jnp.sin(2 * jnp.pi * f * t)
        return Trial(inputs=inputs, targets=targets, mask=jnp.ones_like(targets))

    def metric(self, output: Float[Array, "time output"], trial: Trial) -> Float[Array, ""]:
        """Mean squared error over the masked entries."""
        return masked_mean((output - trial.targets) ** 2, trial.mask)

    def ood(self) -> "SineGeneration":
        """Trials twice as long."""
        return SineGeneration(self.n_channels, self.f_low, self.f_high, self.dt, 2 * self.n_steps)
