"""Analyses of trained networks and of whole sweeps: fixed points, timescales, degeneracy."""

from ._degeneracy._assignment import faq_permutation as faq_permutation
from ._degeneracy._assignment import linear_assignment as linear_assignment
from ._degeneracy._behaviour import output_distance as output_distance
from ._degeneracy._behaviour import sigma_ood as sigma_ood
from ._degeneracy._dataset import degeneracy_to_dataset as degeneracy_to_dataset
from ._degeneracy._dsa import delay_embed as delay_embed
from ._degeneracy._dsa import explained_variance_rank as explained_variance_rank
from ._degeneracy._dsa import fit_dmd as fit_dmd
from ._degeneracy._dsa import split_trials as split_trials
from ._degeneracy._dsa_compare import (
    DSA_SCORES as DSA_SCORES,
)
from ._degeneracy._dsa_compare import (
    DSADistance as DSADistance,
)
from ._degeneracy._dsa_compare import (
    DSAScores as DSAScores,
)
from ._degeneracy._dsa_compare import (
    dsa_distance as dsa_distance,
)
from ._degeneracy._dsa_compare import (
    dsa_null_distribution as dsa_null_distribution,
)
from ._degeneracy._dsa_compare import (
    dsa_scores as dsa_scores,
)
from ._degeneracy._dsa_compare import (
    pairwise_dsa as pairwise_dsa,
)
from ._degeneracy._dsa_compare import (
    spectral_distance as spectral_distance,
)
from ._degeneracy._feature_learning import (
    kernel_alignment as kernel_alignment,
)
from ._degeneracy._feature_learning import (
    tangent_kernel as tangent_kernel,
)
from ._degeneracy._feature_learning import (
    tangent_kernel_alignment as tangent_kernel_alignment,
)
from ._degeneracy._feature_learning import (
    weight_change as weight_change,
)
from ._degeneracy._pairwise import (
    all_pairs as all_pairs,
)
from ._degeneracy._pairwise import (
    pairs_to_matrix as pairs_to_matrix,
)
from ._degeneracy._pairwise import (
    pairwise as pairwise,
)
from ._degeneracy._pairwise import (
    select_pairs as select_pairs,
)
from ._degeneracy._plots import (
    mds as mds,
)
from ._degeneracy._plots import (
    plot_degeneracy as plot_degeneracy,
)
from ._degeneracy._plots import (
    plot_distance_matrix as plot_distance_matrix,
)
from ._degeneracy._plots import (
    plot_mds as plot_mds,
)
from ._degeneracy._representations import linear_cka as linear_cka
from ._degeneracy._representations import procrustes_angle as procrustes_angle
from ._degeneracy._settings import DegeneracySettings as DegeneracySettings
from ._degeneracy._store import degeneracy as degeneracy
from ._degeneracy._weights_distance import (
    pairwise_permutation_distances as pairwise_permutation_distances,
)
from ._degeneracy._weights_distance import (
    permutation_distance as permutation_distance,
)
from ._fixed_points._connect import connect_saddles as connect_saddles
from ._fixed_points._dataset import (
    fixed_points_from_dataset as fixed_points_from_dataset,
)
from ._fixed_points._dataset import (
    fixed_points_to_dataset as fixed_points_to_dataset,
)
from ._fixed_points._linearise import jacobian as jacobian
from ._fixed_points._plots import plot_eigenvalues as plot_eigenvalues
from ._fixed_points._plots import plot_fixed_points as plot_fixed_points
from ._fixed_points._points import (
    FixedPoints as FixedPoints,
)
from ._fixed_points._points import (
    FixedPointsSummary as FixedPointsSummary,
)
from ._fixed_points._sample import sample_initial_states as sample_initial_states
from ._fixed_points._search import find_fixed_points as find_fixed_points
from ._fixed_points._settings import FixedPointSearch as FixedPointSearch
from ._fixed_points._store import fixed_points as fixed_points
from ._fixed_points._store import load_fixed_points as load_fixed_points
from ._long_runs import (
    AbstractAccumulator as AbstractAccumulator,
)
from ._long_runs import (
    AbstractInputProcess as AbstractInputProcess,
)
from ._long_runs import (
    BinaryInput as BinaryInput,
)
from ._long_runs import (
    GaussianInput as GaussianInput,
)
from ._long_runs import (
    ZeroInput as ZeroInput,
)
from ._long_runs import (
    drive as drive,
)
from ._over_members import Chunk as Chunk
from ._over_members import run_over_members as run_over_members
from ._timescales._ablation import (
    SilencedContinuousRNN as SilencedContinuousRNN,
)
from ._timescales._ablation import (
    SilencedDiscreteRNN as SilencedDiscreteRNN,
)
from ._timescales._ablation import (
    evaluate as evaluate,
)
from ._timescales._ablation import (
    fastest_units as fastest_units,
)
from ._timescales._ablation import (
    perturb_tau as perturb_tau,
)
from ._timescales._ablation import (
    perturb_weights as perturb_weights,
)
from ._timescales._ablation import (
    silence as silence,
)
from ._timescales._ablation import (
    slowest_units as slowest_units,
)
from ._timescales._autocorr import (
    AutocorrelationAccumulator as AutocorrelationAccumulator,
)
from ._timescales._autocorr import (
    autocorrelation as autocorrelation,
)
from ._timescales._autocorr import (
    autocovariance as autocovariance,
)
from ._timescales._autocorr import (
    normalise_autocovariance as normalise_autocovariance,
)
from ._timescales._autocorr import (
    population_autocorrelation as population_autocorrelation,
)
from ._timescales._core import (
    TauStatistics as TauStatistics,
)
from ._timescales._core import (
    TimescaleResult as TimescaleResult,
)
from ._timescales._core import (
    TimescaleSummary as TimescaleSummary,
)
from ._timescales._core import (
    autocorrelation_timescales as autocorrelation_timescales,
)
from ._timescales._core import (
    learned_tau as learned_tau,
)
from ._timescales._core import (
    network_timescales as network_timescales,
)
from ._timescales._core import (
    summarise_timescales as summarise_timescales,
)
from ._timescales._core import (
    tau_statistics as tau_statistics,
)
from ._timescales._core import (
    valid_timescales as valid_timescales,
)
from ._timescales._dataset import timescales_to_dataset as timescales_to_dataset
from ._timescales._expfit import ExpFit as ExpFit
from ._timescales._expfit import fit_autocorrelation as fit_autocorrelation
from ._timescales._expfit import select_model as select_model
from ._timescales._plots import (
    plot_autocorrelation as plot_autocorrelation,
)
from ._timescales._plots import (
    plot_network_timescales as plot_network_timescales,
)
from ._timescales._plots import (
    plot_tau_distributions as plot_tau_distributions,
)
from ._timescales._settings import TimescaleSettings as TimescaleSettings
from ._timescales._store import timescales as timescales

# isort: split
# --- HMM-emulation mechanism (Torre et al., NeurIPS 2025): analysis/_mechanism/ ---
from ._mechanism import CLUSTER as CLUSTER
from ._mechanism import KICK_ZONE as KICK_ZONE
from ._mechanism import LABELS as LABELS
from ._mechanism import OTHER as OTHER
from ._mechanism import TRANSITION as TRANSITION
from ._mechanism import DriveScaling as DriveScaling
from ._mechanism import DriveScalingResult as DriveScalingResult
from ._mechanism import GlobalDynamics as GlobalDynamics
from ._mechanism import GlobalDynamicsResult as GlobalDynamicsResult
from ._mechanism import HMMMechanism as HMMMechanism
from ._mechanism import KickUnits as KickUnits
from ._mechanism import MechanismResult as MechanismResult
from ._mechanism import NoisePopulations as NoisePopulations
from ._mechanism import Residency as Residency
from ._mechanism import ResidencyResult as ResidencyResult
from ._mechanism import RunSummary as RunSummary
from ._mechanism import TrainingDynamics as TrainingDynamics
from ._mechanism import TrainingDynamicsResult as TrainingDynamicsResult
from ._mechanism import TrajectoryLinearisation as TrajectoryLinearisation
from ._mechanism import UnitSearch as UnitSearch
from ._mechanism import analyse_mechanism as analyse_mechanism
from ._mechanism import drive_scaling as drive_scaling
from ._mechanism import global_dynamics as global_dynamics
from ._mechanism import hmm_mechanism as hmm_mechanism
from ._mechanism import kick_units as kick_units
from ._mechanism import linearise_trajectory as linearise_trajectory
from ._mechanism import local_jacobian as local_jacobian
from ._mechanism import mechanism_to_dataset as mechanism_to_dataset
from ._mechanism import noise_populations as noise_populations
from ._mechanism import noise_run as noise_run
from ._mechanism import noisy_trajectory as noisy_trajectory
from ._mechanism import plot_drive_scaling as plot_drive_scaling
from ._mechanism import plot_dwell as plot_dwell
from ._mechanism import plot_mechanism as plot_mechanism
from ._mechanism import plot_orbit_size as plot_orbit_size
from ._mechanism import plot_orbits as plot_orbits
from ._mechanism import plot_residency as plot_residency
from ._mechanism import plot_training_dynamics as plot_training_dynamics
from ._mechanism import plot_unstable as plot_unstable
from ._mechanism import pre_activation as pre_activation
from ._mechanism import residency as residency
from ._mechanism import scale_recurrent_drive as scale_recurrent_drive
from ._mechanism import settings_dict as settings_dict
from ._mechanism import snapshot_models as snapshot_models
from ._mechanism import stack_models as stack_models
from ._mechanism import training_dynamics as training_dynamics
