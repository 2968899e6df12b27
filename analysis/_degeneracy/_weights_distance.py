"""Permutation-invariant distance between recurrent weight matrices.

Hidden units have no identity: relabelling them (W → Pᵀ W P) gives the same network.
The distance between two networks' weights is therefore the minimum over relabellings,
a quadratic assignment problem, solved on the host: exactly by enumeration for n ≤ 7,
approximately by the FAQ algorithm (Vogelstein et al. 2015, `scipy.optimize.
quadratic_assignment`) with restarts otherwise.

Different widths. ‖·‖_F / n (the root-mean-square entry difference) is reported next to
‖·‖_F so that conditions with different widths can be compared through their
within-condition distances. A distance between two networks of *different* widths is
not defined here (no padding with silent units, which would count width differences as
weight differences): such pairs give NaN. Pairs are taken within a condition by
default (`select_pairs`), where widths agree.
"""

import itertools
from collections.abc import Sequence

import jax.random as jr
import numpy as np
import scipy.optimize
from jaxtyping import Float, Int, PRNGKeyArray

from neurodyn import _checks

from ._pairwise import numpy_rng

BRUTE_FORCE_MAX = 7


def _check_pair(W1, W2) -> tuple[np.ndarray, np.ndarray]:
    W1 = np.asarray(W1, dtype=np.float64)
    W2 = np.asarray(W2, dtype=np.float64)
    for name, W in (("W1", W1), ("W2", W2)):
        if W.ndim != 2 or W.shape[0] != W.shape[1]:
            raise ValueError(
                f"permutation_distance: {name} must be a square [hidden, hidden_in] matrix, "
                f"got shape {W.shape}."
            )
    if W1.shape != W2.shape:
        raise ValueError(
            f"permutation_distance: W1 and W2 must have the same width, got {W1.shape} and "
            f"{W2.shape}. Networks of different widths are compared only through their "
            "normalised within-condition distances; pairwise_permutation_distances gives NaN "
            "for such pairs."
        )
    return W1, W2


def _permuted(W: np.ndarray, perm: np.ndarray) -> np.ndarray:
    """Pᵀ W P for the permutation matrix with P[perm[i], i] = 1: W[perm][:, perm]."""
    return W[np.ix_(perm, perm)]


def _brute_force(W1: np.ndarray, W2: np.ndarray) -> np.ndarray:
    n = W1.shape[0]
    perms = np.array(list(itertools.permutations(range(n))), dtype=np.int64).reshape(-1, n)
    permuted = W2[perms[:, :, None], perms[:, None, :]]
    costs = np.sum((W1[None] - permuted) ** 2, axis=(1, 2))
    return perms[np.argmin(costs)]


def _random_doubly_stochastic(n: int, rng: np.random.Generator) -> np.ndarray:
    """A random start inside the Birkhoff polytope, as scipy's 'randomized' start (J + K)/2."""
    K = rng.uniform(size=(n, n))
    for _ in range(50):
        K /= K.sum(axis=1, keepdims=True)
        K /= K.sum(axis=0, keepdims=True)
    return (np.full((n, n), 1.0 / n) + K) / 2.0


def _faq(W1: np.ndarray, W2: np.ndarray, n_restarts: int, rng: np.random.Generator) -> np.ndarray:
    n = W1.shape[0]
    identity = np.arange(n)
    best, best_cost = identity, np.sum((W1 - W2) ** 2)
    starts = ["barycenter"] + [_random_doubly_stochastic(n, rng) for _ in range(n_restarts - 1)]
    for P0 in starts:
        # Maximising trace(W1ᵀ P W2 Pᵀ) minimises ‖W1 − Pᵀ W2 P‖_F (the norms are fixed).
        res = scipy.optimize.quadratic_assignment(
            W1, W2, method="faq", options={"maximize": True, "P0": P0}
        )
        perm = np.asarray(res.col_ind)
        cost = np.sum((W1 - _permuted(W2, perm)) ** 2)
        if cost < best_cost:
            best, best_cost = perm, cost
    return best


def permutation_distance(
    W1: Float[np.ndarray, "hidden hidden_in"],
    W2: Float[np.ndarray, "hidden hidden_in"],
    *,
    n_restarts: int = 8,
    key: PRNGKeyArray,
    normalised: bool = False,
) -> tuple[float, Int[np.ndarray, " hidden"]]:
    """Minimum over relabellings of the hidden units of the distance between weights.

        d(W1, W2) = min over permutation matrices P of ‖W1 − Pᵀ W2 P‖_F

    Exact (enumeration of all n! relabellings) for n ≤ 7; otherwise the best of
    `n_restarts` FAQ solves (one from the barycentre, the others from random doubly
    stochastic starts drawn with `key`) and of the identity (no relabelling), so d ≤ ‖W1 − W2‖_F always.
    Runs on the host in float64.

    **Arguments:**

    - `W1`, `W2`: `[hidden, hidden_in]` recurrent weights of equal width n.
    - `normalised`: return ‖·‖_F / n, the root-mean-square entry difference.

    **Returns:** `(distance, perm)` with `W2[perm][:, perm]` the relabelled W2 closest to W1.
    """
    W1, W2 = _check_pair(W1, W2)
    n_restarts = _checks.positive_int("permutation_distance", "n_restarts", n_restarts)
    n = W1.shape[0]
    if n <= BRUTE_FORCE_MAX:
        perm = _brute_force(W1, W2)
    else:
        perm = _faq(W1, W2, n_restarts, numpy_rng(key))
    distance = float(np.linalg.norm(W1 - _permuted(W2, perm)))
    return (distance / n if normalised else distance), perm


def pairwise_permutation_distances(
    weights: Sequence[Float[np.ndarray, "hidden hidden_in"]] | Float[np.ndarray, "member hidden hidden_in"],
    pairs: Int[np.ndarray, "pair 2"],
    *,
    n_restarts: int = 8,
    key: PRNGKeyArray,
    progress: bool = True,
) -> tuple[Float[np.ndarray, " pair"], Float[np.ndarray, " pair"]]:
    """`permutation_distance` for every pair, one host solve after another.

    **Arguments:**

    - `weights`: each member's recurrent weights (a `[member, hidden, hidden_in]` array, or
      a list of square matrices when widths differ).
    - `pairs`: `int[pair, 2]`, e.g. from `select_pairs` (within a condition by default).
    - `key`: split into one key per pair.
    - `progress`: show a rich progress bar (the solves take seconds each at n = 128).

    **Returns:** `(distance, normalised)`, each `[pair]`; NaN for pairs of different widths.
    """
    pairs = np.asarray(pairs)
    keys = jr.split(key, len(pairs))
    distance = np.full(len(pairs), np.nan)
    normalised = np.full(len(pairs), np.nan)
    from rich.progress import Progress

    with Progress(transient=True, disable=not progress) as bar:
        task = bar.add_task("permutation distances", total=len(pairs))
        for p, (i, j) in enumerate(pairs):
            W1, W2 = np.asarray(weights[i]), np.asarray(weights[j])
            if W1.shape == W2.shape:
                d, _ = permutation_distance(W1, W2, n_restarts=n_restarts, key=keys[p])
                distance[p], normalised[p] = d, d / W1.shape[0]
            bar.advance(task)
    return distance, normalised
