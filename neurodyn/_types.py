"""Containers shared by tasks, models, training and analyses.

Shapes are per example; batch and member axes come only from `vmap`.
"""

import equinox as eqx
from jaxtyping import Array, Float


class Trial(eqx.Module):
    """One trial of a task.

    **Fields:**

    - `inputs`: `Float[Array, "time input"]`, what the network receives.
    - `targets`: `Float[Array, "time output"]`, what it should emit (one-hot class
      labels for classification tasks).
    - `mask`: `Float[Array, "time output"]`, 1 where the target counts in the loss and
      the metric, 0 elsewhere.
    """

    inputs: Float[Array, "time input"]
    targets: Float[Array, "time output"]
    mask: Float[Array, "time output"]


class Trajectory(eqx.Module):
    """What a network did on one trial.

    **Fields:**

    - `state`: `Float[Array, "time state"]`, the full recurrent state after each step
      (for an LSTM the concatenation of h and c; for every other model the hidden
      vector itself).
    - `output`: `Float[Array, "time output"]`, the readout after each step.
    """

    state: Float[Array, "time state"]
    output: Float[Array, "time output"]
