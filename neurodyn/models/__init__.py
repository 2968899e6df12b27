"""Recurrent network models: one interface, continuous-time and discrete."""

from ._base import (
    AbstractContinuousRNN as AbstractContinuousRNN,
    AbstractDiscreteRNN as AbstractDiscreteRNN,
    AbstractRNN as AbstractRNN,
)
