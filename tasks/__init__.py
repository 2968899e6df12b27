"""Cognitive tasks: pure, key-driven, vmappable trial generators."""

from neurodyn._types import Trial as Trial
from neurodyn.tasks._base import AbstractTask as AbstractTask
from neurodyn.tasks._base import masked_mean as masked_mean
from neurodyn.tasks._binary_sequence import AbstractBinarySequenceTask as AbstractBinarySequenceTask
from neurodyn.tasks._delayed_discrimination import DelayedDiscrimination as DelayedDiscrimination
from neurodyn.tasks._dms import DelayedMatchToSample as DelayedMatchToSample
from neurodyn.tasks._flipflop import FlipFlop as FlipFlop
from neurodyn.tasks._head_direction import HeadDirection as HeadDirection
from neurodyn.tasks._hmm import HMM as HMM
from neurodyn.tasks._hmm import cyclic_hmm as cyclic_hmm
from neurodyn.tasks._hmm import fully_connected_hmm as fully_connected_hmm
from neurodyn.tasks._hmm import linear_chain_emission as linear_chain_emission
from neurodyn.tasks._hmm import linear_chain_hmm as linear_chain_hmm
from neurodyn.tasks._hmm import sample_hmm as sample_hmm
from neurodyn.tasks._hmm_emulation import HMMEmulation as HMMEmulation
from neurodyn.tasks._hmm_emulation import straight_through_gumbel as straight_through_gumbel
from neurodyn.tasks._hmm_stats import EmissionStatistics as EmissionStatistics
from neurodyn.tasks._hmm_stats import analytic_emission_statistics as analytic_emission_statistics
from neurodyn.tasks._hmm_stats import emission_statistics as emission_statistics
from neurodyn.tasks._hmm_stats import emulation_distance as emulation_distance
from neurodyn.tasks._hmm_stats import sample_hmm_onehot as sample_hmm_onehot
from neurodyn.tasks._hmm_stats import state_marginals as state_marginals
from neurodyn.tasks._hmm_stats import stationary_distribution as stationary_distribution
from neurodyn.tasks._hmm_stats import stationary_emission_marginals as stationary_emission_marginals
from neurodyn.tasks._neurogym import NeuroGymTask as NeuroGymTask
from neurodyn.tasks._parity import Parity as Parity
from neurodyn.tasks._path_integration import PathIntegration as PathIntegration
from neurodyn.tasks._sine import SineGeneration as SineGeneration
from neurodyn.tasks._sinkhorn import sinkhorn_divergence as sinkhorn_divergence

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
