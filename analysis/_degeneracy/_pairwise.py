"""Pairs of members: which pairs to compare, a vmapped map over pairs, pairs -> matrices.

Every pairwise distance of the degeneracy analysis is a function of two members'
arrays. `pairwise` maps such a function over an index list `pairs[pair, 2]` (vmapped,
in batches, so memory stays bounded); `select_pairs` chooses the pairs (within a
condition by default, with a cap); `pairs_to_matrix` scatters per-pair values into the
stored `(member, member_)` matrix.
"""

from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Int, PRNGKeyArray


def numpy_rng(key: PRNGKeyArray) -> np.random.Generator:
    """A numpy Generator seeded from a JAX key, for the host-side solvers."""
    return np.random.default_rng(np.asarray(jr.key_data(key)).ravel().tolist())


def all_pairs(n_members: int) -> Int[np.ndarray, "pair 2"]:
    """Every unordered pair (i, j), i < j, of `n_members` members."""
    i, j = np.triu_indices(n_members, k=1)
    return np.stack([i, j], axis=1)


def condition_codes(conditions: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """Unique condition labels (first-seen order) and each member's index into them."""
    labels = [tuple(np.ravel(c).tolist()) if isinstance(c, (list, np.ndarray)) else c for c in conditions]
    unique: dict = {}
    codes = np.array([unique.setdefault(c, len(unique)) for c in labels], dtype=np.int64)
    out = np.empty(len(unique), dtype=object)  # element-wise, so tuples stay tuples
    out[:] = list(unique)
    return out, codes


def select_pairs(
    conditions: Sequence | None = None,
    *,
    n_members: int | None = None,
    within_condition: bool = True,
    max_pairs: int | None = None,
    key: PRNGKeyArray | None = None,
) -> Int[np.ndarray, "pair 2"]:
    """The member pairs (i < j) a pairwise distance is computed on.

    **Arguments:**

    - `conditions`: one label per member (anything hashable: ints, strings, tuples of
      hyperparameter values); members with equal labels form a condition.
    - `n_members`: number of members when `conditions` is None (then all pairs).
    - `within_condition`: only pairs whose members share a condition (the default, as
      the degeneracy study compares networks trained under the same condition).
    - `max_pairs`: at most this many pairs per condition (or in all, when not
      `within_condition`), drawn at random without replacement with `key`.

    **Returns:** `int[pair, 2]`, sorted, each row `(i, j)` with `i < j`.
    """
    if conditions is None:
        if n_members is None:
            raise ValueError("select_pairs: give `conditions` (one label per member) or `n_members`.")
        codes = np.zeros(n_members, dtype=np.int64)
    else:
        _, codes = condition_codes(conditions)
    if max_pairs is not None and (isinstance(max_pairs, bool) or max_pairs < 1):
        raise ValueError(f"select_pairs: max_pairs must be a positive integer or None, got {max_pairs!r}.")
    if max_pairs is not None and key is None:
        raise ValueError("select_pairs: max_pairs needs a `key` to draw the pairs kept.")
    pairs = all_pairs(len(codes))
    if within_condition:
        pairs = pairs[codes[pairs[:, 0]] == codes[pairs[:, 1]]]
        groups = codes[pairs[:, 0]]
    else:
        groups = np.zeros(len(pairs), dtype=np.int64)
    if max_pairs is None:
        return pairs
    rng = numpy_rng(key)
    keep = []
    for g in np.unique(groups):
        rows = np.flatnonzero(groups == g)
        if len(rows) > max_pairs:
            rows = np.sort(rng.choice(rows, size=max_pairs, replace=False))
        keep.append(rows)
    return pairs[np.sort(np.concatenate(keep))] if keep else pairs


@eqx.filter_jit
def pairwise(
    fn: Callable,
    stacked,
    pairs: Int[Array, "pair 2"],
    *,
    key: PRNGKeyArray | None = None,
    keys: PRNGKeyArray | None = None,
    batch_size: int | None = 64,
):
    """Map `fn(x_i, x_j)` (or `fn(x_i, x_j, key=k)`) over `pairs`, vmapped in batches.

    **Arguments:**

    - `fn`: a function of two members' pytrees (and a keyword `key` when `key` is given).
    - `stacked`: a pytree whose array leaves have a leading `member` axis.
    - `pairs`: `int[pair, 2]` member indices.
    - `key`: split into one key per pair.
    - `keys`: instead of `key`, the keys themselves, one per pair (`[pair]`).
    - `batch_size`: pairs evaluated together in one vmapped call (`jax.lax.map`);
      None vmaps all pairs at once.

    **Returns:** `fn`'s output with a leading `pair` axis. Each pair's result is the same
    as calling `fn` on that pair alone. Jitted; the last batch is padded to full size so
    the body compiles once.
    """
    pairs = jnp.asarray(pairs, dtype=jnp.int32)
    if pairs.ndim != 2 or pairs.shape[0] == 0 or pairs.shape[1] != 2:
        raise ValueError(
            f"pairwise: `pairs` must be a non-empty int[pair, 2] array, got shape {pairs.shape}."
        )
    arrays, static = eqx.partition(stacked, eqx.is_array)
    n_pairs = pairs.shape[0]
    if key is not None and keys is not None:
        raise ValueError("pairwise: give `key` (split per pair) or `keys` (one per pair), not both.")
    if keys is not None and keys.shape[:1] != (n_pairs,):
        raise ValueError(f"pairwise: `keys` needs one key per pair ({n_pairs}), got shape {keys.shape}.")
    if key is not None:
        keys = jr.split(key, n_pairs)
    if batch_size is not None:
        batch_size = min(batch_size, n_pairs)
    if batch_size is not None and n_pairs % batch_size:
        # Padding to whole batches (repeating the first pair) avoids compiling the body a
        # second time for the remainder.
        pad = batch_size - n_pairs % batch_size
        pairs = jnp.concatenate([pairs, jnp.repeat(pairs[:1], pad, axis=0)])
        keys = None if keys is None else jnp.concatenate([keys, jnp.repeat(keys[:1], pad, axis=0)])

    def one(xs):
        p, k = xs
        take = lambda i: eqx.combine(jax.tree_util.tree_map(lambda a: a[i], arrays), static)
        a, b = take(p[0]), take(p[1])
        return fn(a, b) if k is None else fn(a, b, key=k)

    out = jax.lax.map(one, (pairs, keys), batch_size=batch_size)
    return jax.tree_util.tree_map(lambda x: x[:n_pairs], out)


def pairs_to_matrix(
    values, pairs: Int[np.ndarray, "pair 2"], n_members: int, *, diagonal: float = 0.0
) -> np.ndarray:
    """Scatter per-pair values into a symmetric `[member, member_]` matrix.

    Pairs not listed are NaN; the diagonal is `diagonal` (0 for distances, 1 for
    similarities such as CKA).
    """
    values = np.asarray(values, dtype=float)
    pairs = np.asarray(pairs)
    out = np.full((n_members, n_members), np.nan)
    out[pairs[:, 0], pairs[:, 1]] = values
    out[pairs[:, 1], pairs[:, 0]] = values
    np.fill_diagonal(out, diagonal)
    return out

