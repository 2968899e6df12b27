"""Cognitive tasks: pure, key-driven, vmappable trial generators."""

from neurodyn._types import Trial as Trial

from ._base import AbstractTask as AbstractTask, masked_mean as masked_mean
from ._binary_sequence import AbstractBinarySequenceTask as AbstractBinarySequenceTask
from ._delayed_discrimination import DelayedDiscrimination as DelayedDiscrimination
from ._dms import DelayedMatchToSample as DelayedMatchToSample
from ._flipflop import FlipFlop as FlipFlop
from ._head_direction import HeadDirection as HeadDirection
from ._hmm import (
    HMM as HMM,
    cyclic_hmm as cyclic_hmm,
    fully_connected_hmm as fully_connected_hmm,
    linear_chain_emission as linear_chain_emission,
    linear_chain_hmm as linear_chain_hmm,
    sample_hmm as sample_hmm,
)
from ._hmm_emulation import (
    HMMEmulation as HMMEmulation,
    straight_through_gumbel as straight_through_gumbel,
)
from ._hmm_stats import (
    EmissionStatistics as EmissionStatistics,
    analytic_emission_statistics as analytic_emission_statistics,
    emission_statistics as emission_statistics,
    emulation_distance as emulation_distance,
    sample_hmm_onehot as sample_hmm_onehot,
    state_marginals as state_marginals,
    stationary_distribution as stationary_distribution,
    stationary_emission_marginals as stationary_emission_marginals,
)
from ._parity import Parity as Parity
from ._path_integration import PathIntegration as PathIntegration
from ._sine import SineGeneration as SineGeneration
from ._sinkhorn import sinkhorn_divergence as sinkhorn_divergence

#: Registry names → task classes (the spec layer's task registry builds on this).
TASKS: dict[str, type[AbstractTask]] = {
    "flipflop": FlipFlop,
    "parity": Parity,
    "dms": DelayedMatchToSample,
    "delayed_discrimination": DelayedDiscrimination,
    "sine": SineGeneration,
    "path_integration": PathIntegration,
    "head_direction": HeadDirection,
    "hmm": HMMEmulation,
}
