"""Angular path integration: a head-direction ring."""

from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, PRNGKeyArray

from neurodyn import _checks
from neurodyn._types import Trial
from neurodyn.tasks._base import AbstractTask, masked_mean
from neurodyn.tasks._params import float_leaf


class HeadDirection(AbstractTask):
    """Integrate angular velocity into a heading, reported as (sin θ, cos θ).

    θ_{−1} ~ U(−π, π); angular velocity ω_t ~ N(0, angular_std²) per step;
    θ_t = θ_{−1} + ω_0 + … + ω_t (no boundary: the angle wraps). Inputs
    [ω_t, sin θ_{−1}, cos θ_{−1}], the initial heading given at the first step only (0
    later); targets [sin θ_t, cos θ_t] at every step (mask 1).

    **Arguments:**

    - `n_time`: trial length in steps.
    - `angular_std`: standard deviation of ω in radians per step (array leaf).

    The metric is the mean absolute angular error in radians, the output's angle being
    atan2(y_sin, y_cos) (lower is better); OOD doubles the trial length.
    """

    metric_name: ClassVar[str] = "angular_error"
    higher_is_better: ClassVar[bool] = False
    parameter_ranges: ClassVar[dict[str, str]] = {
        "n_time": "int >= 1",
        "angular_std": "float >= 0",
    }

    n_steps: int = eqx.field(static=True)
    angular_std: Float[Array, ""]

    def __init__(self, n_time: int = 100, angular_std: float = 0.2):
        owner = "HeadDirection"
        self.n_steps = _checks.positive_int(owner, "n_time", n_time)
        self.angular_std = float_leaf(owner, "angular_std", angular_std, low=0.0)

    @property
    def input_size(self) -> int:
        return 3

    @property
    def output_size(self) -> int:
        return 2

    @property
    def n_time(self) -> int:
        return self.n_steps

    def sample(self, *, key: PRNGKeyArray, condition=None) -> Trial:
        hkey, wkey = jr.split(key)
        start = jr.uniform(hkey, minval=-jnp.pi, maxval=jnp.pi)
        omega = self.angular_std * jr.normal(wkey, (self.n_steps,))
        theta = start + jnp.cumsum(omega)
        first = jnp.arange(self.n_steps) == 0
        inputs = jnp.stack(
            [omega, jnp.where(first, jnp.sin(start), 0.0), jnp.where(first, jnp.cos(start), 0.0)],
            axis=1,
        )
        targets = jnp.stack([jnp.sin(theta), jnp.cos(theta)], axis=1)
        return Trial(inputs=inputs, targets=targets, mask=jnp.ones_like(targets))

    def metric(self, output: Float[Array, "time output"], trial: Trial) -> Float[Array, ""]:
        """Mean |wrapped angle difference| between output and target headings."""
        angle = jnp.arctan2(output[:, 0], output[:, 1])
        target = jnp.arctan2(trial.targets[:, 0], trial.targets[:, 1])
        error = jnp.abs(jnp.mod(angle - target + jnp.pi, 2 * jnp.pi) - jnp.pi)
        return masked_mean(error, trial.mask[:, 0])

    def ood(self) -> "HeadDirection":
        """Trials twice as long."""
        return HeadDirection(2 * self.n_steps, self.angular_std)
