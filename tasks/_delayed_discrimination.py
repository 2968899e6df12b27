"""Delayed discrimination of two pulse amplitudes (Romo et al. 1999; Huang et al. 2025)."""

from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, Int, PRNGKeyArray

from neurodyn import _checks
from neurodyn._types import Trial
from neurodyn.tasks._base import AbstractTask, masked_mean
from neurodyn.tasks._params import concrete, float_leaf, int_leaf, ordered

#: Input amplitude per unit of f: pulses of height f / 10 (0.2 … 1.0 for f ∈ [2, 10]).
AMPLITUDE_SCALE = 0.1


class DelayedDiscrimination(AbstractTask):
    """Compare two pulse amplitudes across a delay: output sign(f2 − f1).

    Per channel and trial, f1, f2 ~ U[f_low, f_high] and a delay d uniform on the
    integers [delay_min, delay_max]. Input channel i carries a pulse of height f1/10 for
    `pulse_width` steps starting at step `t_pre`, zeros for d steps, then a pulse of
    height f2/10; the response period is the `response_time` steps right after the second
    pulse. Output i must be sign(f2 − f1) ∈ {−1, +1} there; with `aux=True` outputs
    n_channels … 2·n_channels − 1 also carry (f2 − f1)/10 (the difference in input
    units). The mask is 1 in each channel's response period, 0 elsewhere (trials with a
    short delay end early and are padded).

    **Arguments:**

    - `n_channels`: independent channels (inputs = n_channels, outputs ×2 with aux).
    - `f_low`: the smallest amplitude f (array leaf, < f_high).
    - `f_high`: the largest amplitude f (array leaf).
    - `delay_min`: the shortest delay in steps (int array leaf, ≤ delay_max).
    - `delay_max`: the longest delay in steps (int array leaf).
    - `delay_cap`: the longest delay the static trial length must hold (default
      delay_max); a sweep over delays sets it to the largest delay of the sweep.
    - `aux`: emit the auxiliary output f2 − f1.
    - `pulse_width`: steps per pulse.
    - `t_pre`: steps before the first pulse.
    - `response_time`: steps of the response period.

    n_time = t_pre + 2·pulse_width + delay_cap + response_time. The metric is sign
    accuracy on the sign outputs in the response period; OOD doubles the delays.

    Reference: Huang, Singh, Martinelli, Rajan, "Measuring and controlling solution
    degeneracy across task-trained recurrent neural networks", NeurIPS 2025.
    """

    metric_name: ClassVar[str] = "sign_accuracy"
    parameter_ranges: ClassVar[dict[str, str]] = {
        "n_channels": "int >= 1",
        "f_low": "float, < f_high",
        "f_high": "float, > f_low",
        "delay_min": "int >= 0, <= delay_max",
        "delay_max": "int >= delay_min, <= delay_cap",
        "delay_cap": "int >= delay_max (default delay_max)",
        "aux": "bool",
        "pulse_width": "int >= 1",
        "t_pre": "int >= 0",
        "response_time": "int >= 1",
    }

    n_channels: int = eqx.field(static=True)
    aux: bool = eqx.field(static=True)
    pulse_width: int = eqx.field(static=True)
    t_pre: int = eqx.field(static=True)
    response_time: int = eqx.field(static=True)
    delay_cap: int = eqx.field(static=True)
    f_low: Float[Array, ""]
    f_high: Float[Array, ""]
    delay_min: Int[Array, ""]
    delay_max: Int[Array, ""]

    def __init__(
        self,
        n_channels: int = 1,
        f_low: float = 2.0,
        f_high: float = 10.0,
        delay_min: int = 5,
        delay_max: int = 20,
        *,
        delay_cap: int | None = None,
        aux: bool = False,
        pulse_width: int = 1,
        t_pre: int = 5,
        response_time: int = 5,
    ):
        owner = "DelayedDiscrimination"
        self.n_channels = _checks.positive_int(owner, "n_channels", n_channels)
        if not isinstance(aux, bool):
            raise TypeError(f"{owner}: aux must be True or False, got {aux!r}.")
        self.aux = aux
        self.pulse_width = _checks.positive_int(owner, "pulse_width", pulse_width)
        self.t_pre = _checks.positive_int(owner, "t_pre", t_pre, minimum=0)
        self.response_time = _checks.positive_int(owner, "response_time", response_time)
        ordered(owner, "f_low", f_low, "f_high", f_high, strict=True)
        ordered(owner, "delay_min", delay_min, "delay_max", delay_max, strict=False)
        self.f_low = float_leaf(owner, "f_low", f_low)
        self.f_high = float_leaf(owner, "f_high", f_high)
        self.delay_min = int_leaf(owner, "delay_min", delay_min, low=0)
        self.delay_max = int_leaf(owner, "delay_max", delay_max, low=0)
        if delay_cap is None:
            longest = concrete(delay_max)
            if longest is None:
                raise ValueError(
                    f"{owner}: delay_cap is required when delay_max is traced; pass the "
                    "largest delay_max of the sweep."
                )
            delay_cap = int(longest.max())
        self.delay_cap = _checks.positive_int(owner, "delay_cap", delay_cap, minimum=0)
        ordered(owner, "delay_max", delay_max, "delay_cap", delay_cap, strict=False)

    @property
    def input_size(self) -> int:
        return self.n_channels

    @property
    def output_size(self) -> int:
        return self.n_channels * (2 if self.aux else 1)

    @property
    def n_time(self) -> int:
        return self.t_pre + 2 * self.pulse_width + self.delay_cap + self.response_time

    def sample(self, *, key: PRNGKeyArray, condition=None) -> Trial:
        fkey, dkey = jr.split(key)
        f1, f2 = jr.uniform(fkey, (2, self.n_channels), minval=self.f_low, maxval=self.f_high)
        delay = jr.randint(dkey, (self.n_channels,), self.delay_min, self.delay_max + 1)
        t = jnp.arange(self.n_time)[:, None]
        first = (t >= self.t_pre) & (t < self.t_pre + self.pulse_width)
        start2 = self.t_pre + self.pulse_width + delay
        second = (t >= start2) & (t < start2 + self.pulse_width)
        end2 = start2 + self.pulse_width
        response = (t >= end2) & (t < end2 + self.response_time)
        inputs = AMPLITUDE_SCALE * (jnp.where(first, f1, 0.0) + jnp.where(second, f2, 0.0))
        targets = jnp.where(response, jnp.sign(f2 - f1), 0.0)
        mask = response.astype(float)
        if self.aux:
            targets = jnp.concatenate(
                [targets, jnp.where(response, AMPLITUDE_SCALE * (f2 - f1), 0.0)], axis=1
            )
            mask = jnp.concatenate([mask, mask], axis=1)
        return Trial(inputs=inputs, targets=targets, mask=mask)

    def metric(self, output: Float[Array, "time output"], trial: Trial) -> Float[Array, ""]:
        """Sign accuracy of the sign outputs over the response period."""
        k = self.n_channels
        correct = (jnp.sign(output[:, :k]) == trial.targets[:, :k]).astype(output.dtype)
        return masked_mean(correct, trial.mask[:, :k])

    def ood(self) -> "DelayedDiscrimination":
        """Delays doubled (range and cap)."""
        return DelayedDiscrimination(
            self.n_channels,
            self.f_low,
            self.f_high,
            2 * self.delay_min,
            2 * self.delay_max,
            delay_cap=2 * self.delay_cap,
            aux=self.aux,
            pulse_width=self.pulse_width,
            t_pre=self.t_pre,
            response_time=self.response_time,
        )

