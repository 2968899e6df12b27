"""Analyses of trained networks and of whole sweeps: fixed points, timescales, degeneracy."""

from ._fixed_points import (
    FixedPoints as FixedPoints,
    FixedPointsSummary as FixedPointsSummary,
)
from ._fp_connect import connect_saddles as connect_saddles
from ._fp_dataset import (
    fixed_points_from_dataset as fixed_points_from_dataset,
    fixed_points_to_dataset as fixed_points_to_dataset,
)
from ._fp_linearise import jacobian as jacobian
from ._fp_plots import plot_eigenvalues as plot_eigenvalues, plot_fixed_points as plot_fixed_points
from ._fp_sample import sample_initial_states as sample_initial_states
from ._fp_search import find_fixed_points as find_fixed_points
from ._ablation import (
    SilencedContinuousRNN as SilencedContinuousRNN,
    SilencedDiscreteRNN as SilencedDiscreteRNN,
    evaluate as evaluate,
    fastest_units as fastest_units,
    perturb_tau as perturb_tau,
    perturb_weights as perturb_weights,
    silence as silence,
    slowest_units as slowest_units,
)
from ._autocorr import (
    AutocorrelationAccumulator as AutocorrelationAccumulator,
    autocorrelation as autocorrelation,
    autocovariance as autocovariance,
    normalise_autocovariance as normalise_autocovariance,
    population_autocorrelation as population_autocorrelation,
)
from ._drive import (
    AbstractAccumulator as AbstractAccumulator,
    AbstractInputProcess as AbstractInputProcess,
    BinaryInput as BinaryInput,
    GaussianInput as GaussianInput,
    ZeroInput as ZeroInput,
    drive as drive,
)
from ._expfit import ExpFit as ExpFit, fit_autocorrelation as fit_autocorrelation
from ._timescale_dataset import timescales_to_dataset as timescales_to_dataset
from ._timescale_plots import (
    plot_autocorrelation as plot_autocorrelation,
    plot_network_timescales as plot_network_timescales,
    plot_tau_distributions as plot_tau_distributions,
)
from ._timescales import (
    TauStatistics as TauStatistics,
    TimescaleResult as TimescaleResult,
    TimescaleSummary as TimescaleSummary,
    autocorrelation_timescales as autocorrelation_timescales,
    learned_tau as learned_tau,
    network_timescales as network_timescales,
    summarise_timescales as summarise_timescales,
    tau_statistics as tau_statistics,
    valid_timescales as valid_timescales,
)
from ._driver import Chunk as Chunk, run_over_members as run_over_members
from ._sweep_fixed_points import fixed_points as fixed_points, load_fixed_points as load_fixed_points
from ._behaviour import output_distance as output_distance, sigma_ood as sigma_ood
from ._degeneracy_dataset import degeneracy_to_dataset as degeneracy_to_dataset
from ._degeneracy_plots import (
    mds as mds,
    plot_degeneracy as plot_degeneracy,
    plot_distance_matrix as plot_distance_matrix,
    plot_mds as plot_mds,
)
from ._dsa import delay_embed as delay_embed, fit_dmd as fit_dmd, split_trials as split_trials
from ._dsa_compare import (
    DSADistance as DSADistance,
    DSAScores as DSAScores,
    dsa_distance as dsa_distance,
    dsa_null_distribution as dsa_null_distribution,
    dsa_scores as dsa_scores,
    pairwise_dsa as pairwise_dsa,
    spectral_distance as spectral_distance,
)
from ._feature_learning import (
    kernel_alignment as kernel_alignment,
    tangent_kernel as tangent_kernel,
    tangent_kernel_alignment as tangent_kernel_alignment,
    weight_change as weight_change,
)
from ._pairwise import (
    all_pairs as all_pairs,
    pairs_to_matrix as pairs_to_matrix,
    pairwise as pairwise,
    select_pairs as select_pairs,
)
from ._representations import linear_cka as linear_cka, procrustes_angle as procrustes_angle
from ._weights_distance import (
    pairwise_permutation_distances as pairwise_permutation_distances,
    permutation_distance as permutation_distance,
)
