"""Cognitive tasks: pure, key-driven, vmappable trial generators."""

from ._base import AbstractTask as AbstractTask, masked_mean as masked_mean
from ._flipflop import FlipFlop as FlipFlop
from neurodyn._types import Trial as Trial
