"""The settings of the store-level degeneracy analysis, as one object."""

import equinox as eqx
import numpy as np

from neurodyn import _checks

from ._dsa import VARIANCE_THRESHOLD, check_rank
from ._dsa_compare import DSA_SCORES
from ._weights_distance import PERMUTATION_SOLVERS, resolve_solver

LEVELS = ("behaviour", "dynamics", "weights", "representations", "feature_learning")
#: the DSA scores stored unless `dsa_scores` says otherwise
DEFAULT_DSA_SCORES = ("distance", "angle", "spectral")
_OWNER = "degeneracy"


class DegeneracySettings(eqx.Module):
    """What `degeneracy(store)` compares, between which pairs, and how.

    **Fields:**

    - `levels`: any of `LEVELS` ("behaviour", "dynamics", "weights", "representations",
      "feature_learning").
    - `condition_by`: the hyperparameters whose combination is a condition (None: every
      hyperparameter but the seed); `within_condition` compares pairs inside a condition
      only; `max_pairs` caps the pairs (None: all).
    - DSA (the dynamics level): `rank` (an integer, or "explained_variance" with
      `variance_threshold`), `n_delays`, `delay_interval`, `ridge`, `whiten` (fit the
      operator in whitened coordinates, as the reference code `dsa-metric` does),
      `dsa_scores` (any of `DSA_SCORES`), `dsa_restarts` (restarts of the orthogonal
      matching).
    - `perm_restarts`: restarts of the permutation matching of the weight level;
      `perm_solver`: "auto" (the default: "jax" on a GPU or TPU, "scipy" on the CPU),
      "jax" (every pair of a width in one compiled program) or "scipy" (host, one pair
      after another); see `pairwise_permutation_distances`. Stored, as resolved, only
      when it resolves to "jax".
    - `n_ood_trials`: trials of the out-of-distribution variant per member (behaviour);
      `n_probe_trials`: probe trials of the tangent-kernel alignment (feature learning).
    """

    levels: tuple[str, ...] = LEVELS
    condition_by: tuple[str, ...] | None = None
    within_condition: bool = True
    max_pairs: int | None = 2000
    rank: int | str = 10
    n_delays: int = 1
    delay_interval: int = 1
    ridge: float = 0.0
    whiten: bool = False
    variance_threshold: float = VARIANCE_THRESHOLD
    dsa_scores: tuple[str, ...] = DEFAULT_DSA_SCORES
    dsa_restarts: int = 16
    perm_restarts: int = 4
    perm_solver: str = "auto"
    n_ood_trials: int = 64
    n_probe_trials: int = 4

    def __init__(self, levels=LEVELS, condition_by=None, within_condition=True, max_pairs=2000,
                 rank=10, n_delays=1, delay_interval=1, ridge=0.0, whiten=False,
                 variance_threshold=VARIANCE_THRESHOLD, dsa_scores=DEFAULT_DSA_SCORES,
                 dsa_restarts=16, perm_restarts=4, perm_solver="auto", n_ood_trials=64, n_probe_trials=4):
        self.levels = _names("levels", levels)
        for level in self.levels:
            _checks.choice(_OWNER, "levels", level, LEVELS)
        self.condition_by = None if condition_by is None else _names("condition_by", condition_by)
        if not isinstance(within_condition, (bool, np.bool_)):
            raise TypeError(f"{_OWNER}: within_condition must be True or False, got {within_condition!r}.")
        self.within_condition = bool(within_condition)
        if max_pairs is not None:
            _checks.positive_int(_OWNER, "max_pairs", max_pairs)
        self.max_pairs = max_pairs
        check_rank(_OWNER, rank, variance_threshold)
        self.rank, self.variance_threshold = rank, variance_threshold
        for name, value in (("n_delays", n_delays), ("delay_interval", delay_interval),
                            ("dsa_restarts", dsa_restarts), ("perm_restarts", perm_restarts),
                            ("n_ood_trials", n_ood_trials), ("n_probe_trials", n_probe_trials)):
            _checks.positive_int(_OWNER, name, value)
        self.n_delays, self.delay_interval = n_delays, delay_interval
        self.dsa_restarts, self.perm_restarts = dsa_restarts, perm_restarts
        self.n_ood_trials, self.n_probe_trials = n_ood_trials, n_probe_trials
        _checks.in_range(_OWNER, "ridge", ridge, low=0.0)
        self.ridge = ridge
        if not isinstance(whiten, (bool, np.bool_)):
            raise TypeError(f"{_OWNER}: whiten must be True or False, got {whiten!r}.")
        self.whiten = bool(whiten)
        self.dsa_scores = _check_scores(dsa_scores)
        _checks.choice(_OWNER, "perm_solver", perm_solver, PERMUTATION_SOLVERS)
        self.perm_solver = perm_solver

    def fit(self) -> dict:
        """The keywords of `fit_dmd` besides the rank."""
        return dict(n_delays=self.n_delays, delay_interval=self.delay_interval, ridge=self.ridge, whiten=self.whiten)

    def stored(self, condition_by, seed: int) -> dict:
        """The settings stored with the results, with the conditions as resolved for
        the store and the seed (those that decide the numbers)."""
        return dict(
            levels=list(self.levels), condition_by=list(condition_by), within_condition=self.within_condition,
            max_pairs=self.max_pairs, rank=self.rank, n_delays=self.n_delays,
            delay_interval=self.delay_interval, ridge=self.ridge, whiten=self.whiten,
            variance_threshold=self.variance_threshold if isinstance(self.rank, str) else None,
            dsa_scores=list(self.dsa_scores), dsa_restarts=self.dsa_restarts,
            perm_restarts=self.perm_restarts, n_ood_trials=self.n_ood_trials, seed=seed,
        ) | ({"perm_solver": "jax"} if self.resolved_perm_solver() == "jax" else {})

    def resolved_perm_solver(self) -> str:
        """`perm_solver` with "auto" resolved for this machine's default backend."""
        return resolve_solver(_OWNER, self.perm_solver)


def _names(field: str, value) -> tuple[str, ...]:
    value = (value,) if isinstance(value, str) else value
    try:
        return tuple(value)
    except TypeError:
        raise TypeError(f"{_OWNER}: {field} must be a list of names, got {value!r}.") from None


def _check_scores(scores) -> tuple[str, ...]:
    scores = _names("dsa_scores", scores)
    for name in scores:
        if name not in DSA_SCORES:
            hint = " (the reference's 'angular' is 'angle' here)" if name == "angular" else _checks.closest(name, DSA_SCORES)
            raise ValueError(
                f"{_OWNER}: dsa_scores names {name!r}, which is not a DSA score; the scores are "
                f"{list(DSA_SCORES)}.{hint} Name the scores to store, e.g. "
                "dsa_scores=(\"angle\", \"euclidean\", \"wasserstein\")."
            )
    if not scores:
        raise ValueError(f"{_OWNER}: dsa_scores is empty; name at least one of {list(DSA_SCORES)}.")
    return tuple(dict.fromkeys(scores))
