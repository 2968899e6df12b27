"""Path integration in a 2D or 3D box (Huang et al. 2025)."""

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, PRNGKeyArray

from neurodyn import _checks
from neurodyn._types import Trial
from neurodyn.tasks._base import AbstractTask, masked_mean
from neurodyn.tasks._params import float_leaf


def integrate_clipped(start, velocities, box):
    """Positions p_t = clip(p_{t−1} + v_t, −box, box) from p_{−1} = `start`."""

    def body(p, v):
        p = jnp.clip(p + v, -box, box)
        return p, p

    return jax.lax.scan(body, start, velocities)[1]


class PathIntegration(AbstractTask):
    """Integrate heading and speed into a position inside the box [−box, box]^dims.

    The start p_{−1} ~ U[−box, box]^dims. Heading θ (and, in 3D, elevation φ) follow
    random walks, θ_t = θ_{t−1} + turn_std·ε (θ_{−1} ~ U(−π, π), φ_{−1} ~ U(−π/2, π/2));
    speed s_t ~ U(0, speed_max). The velocity is v_t = s_t·(cos θ, sin θ) in 2D and
    s_t·(cos φ cos θ, cos φ sin θ, sin φ) in 3D.

    **Boundary rule: clip.** p_t = clip(p_{t−1} + v_t, −box, box) coordinate-wise: at a
    wall the component of motion into it is lost and the agent slides along the wall.
    The inputs still report the intended heading and speed, so the network must learn
    the walls. Targets are p_t for every step (mask 1).

    **Inputs**, angles coded as cos/sin to avoid the wrap at ±π: 2D
    [cos θ, sin θ, s, x₀/box, y₀/box]; 3D [cos θ, sin θ, cos φ, sin φ, s, x₀/box,
    y₀/box, z₀/box], where the start position is given at the first step only (0 later).

    **Unit scale** (`normalise=True`): the speed input is s/speed_max ∈ [0, 1] and the
    targets are p_t/box ∈ [−1, 1], the scale of a tanh network's units and of its
    1/√N readout (raw targets reach ±box, which a short training run does not reach:
    with box 5 the error stays near 1 where unit scale gets below 0.5). The metric
    stays in position units. A loss threshold refers to the targets as given: under
    unit scale a squared error L is box²·L in position units.

    **Arguments:**

    - `dims`: 2 or 3.
    - `n_time`: trial length in steps.
    - `box`: half-width of the box (array leaf, > 0).
    - `speed_max`: largest displacement per step (array leaf, > 0).
    - `turn_std`: heading (and elevation) change per step in radians (array leaf).
    - `normalise`: code the speed input as s/speed_max and the targets as p_t/box (unit
      scale, see above); the metric stays in position units.

    The metric is the mean Euclidean position error ‖p̂_t − p_t‖ over the masked steps,
    in position units whatever `normalise` (lower is better); OOD doubles the trial
    length.
    """

    metric_name: ClassVar[str] = "position_error"
    higher_is_better: ClassVar[bool] = False
    parameter_ranges: ClassVar[dict[str, str]] = {
        "dims": "2 or 3",
        "n_time": "int >= 1",
        "box": "float > 0",
        "speed_max": "float > 0",
        "turn_std": "float >= 0",
        "normalise": "bool",
    }

    dims: int = eqx.field(static=True)
    n_steps: int = eqx.field(static=True)
    box: Float[Array, ""]
    speed_max: Float[Array, ""]
    turn_std: Float[Array, ""]
    normalise: bool = eqx.field(static=True)

    def __init__(
        self,
        dims: int = 2,
        n_time: int = 100,
        box: float = 5.0,
        speed_max: float = 0.2,
        turn_std: float = 0.3,
        normalise: bool = False,
    ):
        owner = "PathIntegration"
        if isinstance(dims, bool) or dims not in (2, 3):
            raise ValueError(f"{owner}: dims={dims!r} is not supported; use dims=2 or dims=3.")
        self.dims = int(dims)
        self.n_steps = _checks.positive_int(owner, "n_time", n_time)
        self.box = float_leaf(owner, "box", box, low=0.0, low_open=True)
        self.speed_max = float_leaf(owner, "speed_max", speed_max, low=0.0, low_open=True)
        self.turn_std = float_leaf(owner, "turn_std", turn_std, low=0.0)
        if not isinstance(normalise, bool):
            raise TypeError(f"{owner}: normalise must be True or False, got {normalise!r}.")
        self.normalise = normalise

    @property
    def input_size(self) -> int:
        return 2 * (self.dims - 1) + 1 + self.dims  # heading, speed, start cue

    @property
    def output_size(self) -> int:
        return self.dims

    @property
    def n_time(self) -> int:
        return self.n_steps

    def sample(self, *, key: PRNGKeyArray, condition=None) -> Trial:
        pkey, hkey, wkey, skey = jr.split(key, 4)
        n_angles = self.dims - 1
        start = jr.uniform(pkey, (self.dims,), minval=-self.box, maxval=self.box)
        first = jr.uniform(hkey, (n_angles,), minval=-jnp.pi, maxval=jnp.pi)
        first = first * jnp.array([1.0, 0.5][:n_angles])  # elevation starts in (−π/2, π/2)
        walk = self.turn_std * jr.normal(wkey, (self.n_steps, n_angles))
        angles = first + jnp.cumsum(walk, axis=0)
        speed = jr.uniform(skey, (self.n_steps, 1), maxval=self.speed_max)
        cos, sin = jnp.cos(angles), jnp.sin(angles)
        if self.dims == 2:
            direction = jnp.concatenate([cos, sin], axis=1)
            heading = direction
        else:
            direction = jnp.stack(
                [cos[:, 1] * cos[:, 0], cos[:, 1] * sin[:, 0], sin[:, 1]], axis=1
            )
            heading = jnp.stack([cos[:, 0], sin[:, 0], cos[:, 1], sin[:, 1]], axis=1)
        targets = integrate_clipped(start, speed * direction, self.box)
        cue = jnp.where(jnp.arange(self.n_steps)[:, None] == 0, start / self.box, 0.0)
        if self.normalise:
            speed, targets = speed / self.speed_max, targets / self.box
        inputs = jnp.concatenate([heading, speed, cue], axis=1)
        return Trial(inputs=inputs, targets=targets, mask=jnp.ones_like(targets))

    def metric(self, output: Float[Array, "time output"], trial: Trial) -> Float[Array, ""]:
        """Mean Euclidean distance between output and target position, in position units
        (box·‖y − t‖ when `normalise`)."""
        error = jnp.linalg.norm(output - trial.targets, axis=-1)
        if self.normalise:
            error = self.box * error
        return masked_mean(error, trial.mask[:, 0])

    def ood(self) -> "PathIntegration":
        """Trials twice as long."""
        return PathIntegration(
            self.dims, 2 * self.n_steps, self.box, self.speed_max, self.turn_std, self.normalise
        )
