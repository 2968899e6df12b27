"""The N-bit flip-flop task (Sussillo & Barak 2013)."""

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, PRNGKeyArray

from neurodyn import _checks
from neurodyn._types import Trial
from neurodyn.tasks._base import AbstractTask, masked_mean


class FlipFlop(AbstractTask):
    """N-bit flip-flop: output i holds the sign of the last pulse on input i.

    At each step and on each channel independently a pulse starts with probability `p`;
    its sign is ±1 with equal chance and it lasts `pulse_width` steps (a newer pulse
    replaces an older one). The target of channel i at step t is the sign of the most
    recent pulse on channel i at or before t. The mask is 0 before a channel's first
    pulse (there is nothing to remember yet) and while a pulse is being delivered, so
    the network is judged on holding memories, not on the instant of a flip.

    **Arguments:**

    - `n_bits`: number of independent channels (inputs = outputs = `n_bits`).
    - `p`: pulse probability per step and channel, in (0, 1].
    - `pulse_width`: steps each pulse lasts, ≥ 1.
    - `n_time`: trial length in steps.
    - `input_noise`: standard deviation of Gaussian noise added to every input entry.

    The metric is per-bit sign accuracy on the masked steps. The out-of-distribution
    variant has trials twice as long.
    """

    metric_name: ClassVar[str] = "sign_accuracy"
    parameter_ranges: ClassVar[dict[str, str]] = {
        "n_bits": "int >= 1",
        "p": "float in (0, 1]",
        "pulse_width": "int >= 1",
        "n_time": "int >= 1",
        "input_noise": "float >= 0",
    }

    n_bits: int = eqx.field(static=True)
    n_steps: int = eqx.field(static=True)
    pulse_width: int = eqx.field(static=True)
    p: Float[Array, ""]
    input_noise: Float[Array, ""]

    def __init__(
        self,
        n_bits: int = 3,
        p: float = 0.05,
        pulse_width: int = 1,
        n_time: int = 100,
        input_noise: float = 0.0,
    ):
        owner = "FlipFlop"
        self.n_bits = _checks.positive_int(owner, "n_bits", n_bits)
        self.n_steps = _checks.positive_int(owner, "n_time", n_time)
        self.pulse_width = _checks.positive_int(owner, "pulse_width", pulse_width)
        _checks.in_range(owner, "p", p, low=0.0, high=1.0, low_open=True)
        _checks.in_range(owner, "input_noise", input_noise, low=0.0)
        self.p = jnp.asarray(p, dtype=float)
        self.input_noise = jnp.asarray(input_noise, dtype=float)

    @property
    def input_size(self) -> int:
        return self.n_bits

    @property
    def output_size(self) -> int:
        return self.n_bits

    @property
    def n_time(self) -> int:
        return self.n_steps

    def sample(self, *, key: PRNGKeyArray, condition=None) -> Trial:
        kstart, ksign, knoise = jr.split(key, 3)
        shape = (self.n_steps, self.n_bits)
        starts = jr.bernoulli(kstart, self.p, shape)
        signs = jnp.where(jr.bernoulli(ksign, 0.5, shape), 1.0, -1.0)
        pulses = jnp.where(starts, signs, 0.0)

        def body(carry, pulse):
            last, since = carry
            started = pulse != 0
            last = jnp.where(started, pulse, last)
            since = jnp.where(started, 0, since + 1)
            delivering = since < self.pulse_width
            inp = jnp.where(delivering, last, 0.0)
            mask = (last != 0) & ~delivering
            return (last, since), (inp, last, mask)

        init = (jnp.zeros(self.n_bits), jnp.full(self.n_bits, self.pulse_width, jnp.int32))
        _, (inputs, targets, mask) = jax.lax.scan(body, init, pulses)
        inputs = inputs + self.input_noise * jr.normal(knoise, shape)
        return Trial(inputs=inputs, targets=targets, mask=mask.astype(inputs.dtype))

    def metric(self, output, trial: Trial):
        correct = (jnp.sign(output) == trial.targets).astype(output.dtype)
        return masked_mean(correct, trial.mask)

    def ood(self) -> "FlipFlop":
        return FlipFlop(
            n_bits=self.n_bits,
            p=self.p,
            pulse_width=self.pulse_width,
            n_time=2 * self.n_steps,
            input_noise=self.input_noise,
        )
