"""Permutation-invariant distance between recurrent weight matrices.

Hidden units have no identity: relabelling them (W → Pᵀ W P) gives the same network.
The distance between two networks' weights is therefore the minimum over relabellings,
a quadratic assignment problem: solved exactly by enumeration for n ≤ 7, approximately
by the FAQ algorithm (Vogelstein et al. 2015) with restarts otherwise. Two solvers:
"scipy" solves one pair after another on the host (`scipy.optimize.quadratic_assignment`,
float64); "jax" solves all pairs of one width in one compiled program, vmapped over pairs
and restarts (`faq_permutation`, its linear steps an exact Hungarian method in JAX), which
is where an accelerator pays. "auto" takes "jax" on a GPU or TPU and "scipy" on the CPU,
where the host solver is 1.3–1.9× as fast for all 120 pairs of 16 networks of 32–128
units (`make bench`, case `pairs`). Either way the distance of the permutation found is
computed on the host in float64.

Different widths. ‖·‖_F / n (the root-mean-square entry difference) is reported next to
‖·‖_F so that conditions with different widths can be compared through their
within-condition distances. A distance between two networks of *different* widths is
not defined here (no padding with silent units, which would count width differences as
weight differences): such pairs give NaN. Pairs are taken within a condition by
default (`select_pairs`), where widths agree.
"""

import itertools
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import scipy.optimize
from jaxtyping import Float, Int, PRNGKeyArray

from neurodyn import _checks

from ._assignment import faq_permutation
from ._pairwise import numpy_rng, pairwise

BRUTE_FORCE_MAX = 7
PERMUTATION_SOLVERS = ("auto", "jax", "scipy")


def resolve_solver(owner: str, solver: str) -> str:
    """"jax" or "scipy" for `solver`; "auto" is "jax" on an accelerator, else "scipy"."""
    _checks.choice(owner, "solver", solver, PERMUTATION_SOLVERS)
    if solver == "auto":
        return "scipy" if jax.default_backend() == "cpu" else "jax"
    return solver


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
    solver: str = "auto",
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
    - `solver`: "scipy" (host, float64), "jax" (compiled; the FAQ steps in JAX's default
      float precision) or "auto" ("jax" on an accelerator, "scipy" on the CPU).

    **Returns:** `(distance, perm)` with `W2[perm][:, perm]` the relabelled W2 closest to W1.
    """
    W1, W2 = _check_pair(W1, W2)
    n_restarts = _checks.positive_int("permutation_distance", "n_restarts", n_restarts)
    solver = resolve_solver("permutation_distance", solver)
    n = W1.shape[0]
    if solver == "jax":
        perm = np.asarray(_jax_perm(jnp.asarray(W1), jnp.asarray(W2), key, n_restarts))
    elif n <= BRUTE_FORCE_MAX:
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
    solver: str = "auto",
    batch_size: int = 64,
) -> tuple[Float[np.ndarray, " pair"], Float[np.ndarray, " pair"]]:
    """`permutation_distance` for every pair: one host solve after another ("scipy"), or
    all pairs of each width in one compiled program ("jax", `batch_size` pairs vmapped
    together).

    **Arguments:**

    - `weights`: each member's recurrent weights (a `[member, hidden, hidden_in]` array, or
      a list of square matrices when widths differ).
    - `pairs`: `int[pair, 2]`, e.g. from `select_pairs` (within a condition by default).
    - `key`: split into one key per pair.
    - `progress`: show a rich progress bar (the host solves take seconds each at n = 128).
    - `solver`: as in `permutation_distance`; with "jax" each pair gets the permutation
      `permutation_distance(..., solver="jax")` gives it with the same key.

    **Returns:** `(distance, normalised)`, each `[pair]`; NaN for pairs of different widths.
    """
    pairs = np.asarray(pairs)
    solver = resolve_solver("pairwise_permutation_distances", solver)
    n_restarts = _checks.positive_int("pairwise_permutation_distances", "n_restarts", n_restarts)
    keys = jr.split(key, len(pairs))
    distance = np.full(len(pairs), np.nan)
    normalised = np.full(len(pairs), np.nan)
    if solver == "jax":
        _all_pairs_jax(weights, pairs, keys, n_restarts, batch_size, distance, normalised)
        return distance, normalised
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



@jax.jit(static_argnums=3)
def _jax_perm(W1, W2, key, n_restarts):
    return faq_permutation(W1, W2, n_restarts=n_restarts, key=key, brute_force_max=BRUTE_FORCE_MAX)


def _solve_pairs(stacked, pairs, keys, n_restarts, batch_size):
    """The FAQ permutation of every pair `(i, j)` of `stacked[member, n, n]`, with pair p
    solved under `keys[p]`: `batch_size` pairs vmapped together, in one compiled program."""
    return pairwise(eqx.Partial(_pair_perm, n_restarts=n_restarts), stacked, pairs, keys=keys, batch_size=batch_size)


def _pair_perm(W1, W2, *, key, n_restarts):
    return faq_permutation(W1, W2, n_restarts=n_restarts, key=key, brute_force_max=BRUTE_FORCE_MAX)


def _all_pairs_jax(weights, pairs, keys, n_restarts, batch_size, distance, normalised):
    """Fill `distance` / `normalised` for the pairs of equal width, one compiled program
    per width (pairs of different widths stay NaN)."""
    mats = [np.asarray(w, dtype=np.float64) for w in weights]
    same = np.array([mats[i].shape == mats[j].shape for i, j in pairs], dtype=bool)
    for i, j in pairs[same]:
        _check_pair(mats[i], mats[j])
    widths = np.array([mats[i].shape[0] if ok else -1 for (i, _), ok in zip(pairs, same)])
    batch_size = _checks.positive_int("pairwise_permutation_distances", "batch_size", batch_size)
    for n in np.unique(widths[widths > 0]):
        rows = np.flatnonzero(widths == n)
        members = np.unique(pairs[rows])
        local = np.searchsorted(members, pairs[rows]).astype(np.int32)
        stacked = jnp.asarray(np.stack([mats[m] for m in members]))
        perms = np.asarray(_solve_pairs(stacked, jnp.asarray(local), keys[rows], n_restarts,
                                        int(min(batch_size, len(rows)))))
        for r, perm in zip(rows, perms):
            i, j = pairs[r]
            d = float(np.linalg.norm(mats[i] - _permuted(mats[j], perm)))
            distance[r], normalised[r] = d, d / n
