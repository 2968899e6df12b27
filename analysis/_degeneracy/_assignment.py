"""Assignment problems in JAX: the linear one exactly, the quadratic one by Frank-Wolfe.

`linear_assignment` solves min over permutations σ of Σ_i C[i, σ(i)] exactly by the
shortest-augmenting-path form of the Hungarian method (Kuhn 1955; Jonker & Volgenant
1987; the dual update after each search as in Crouse 2016, IEEE TAES 52(4)): rows are
added one at a time, each by a Dijkstra search over reduced costs C[i, j] − u_i − v_j ≥ 0
that ends at a free column; then the duals move once and the path is flipped. Every step
of the search is one vectorised update over the columns, so the whole solve is a
`fori_loop` of `while_loop`s: jit-able and vmap-able (a batch runs until its slowest
member is done), on any device.

`faq_permutation` is the FAQ algorithm (Vogelstein et al. 2015, "Fast approximate
quadratic programming for graph matching", PLoS ONE) for max over permutations P of
tr(W1ᵀ P W2 Pᵀ), i.e. min ‖W1 − P W2 Pᵀ‖_F: Frank-Wolfe over the doubly stochastic
matrices, whose linear step is a `linear_assignment` and whose line search is exact (the
objective is quadratic along the step), then the nearest permutation, again by
`linear_assignment`.
"""

import itertools

import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, Int, PRNGKeyArray

FAQ_MAX_ITER = 30  # Frank-Wolfe steps (the paper's and scipy's default)
FAQ_TOL = 0.03  # stop when ‖P_new − P‖_F / √n falls below this (the same defaults)


def linear_assignment(cost: Float[Array, "n n"]) -> Int[Array, " n"]:
    """The exact minimiser σ of `Σ_i cost[i, σ(i)]` over permutations σ.

    **Arguments:** `cost`, a square `[n, n]` matrix of finite values (maximise by passing
    its negative).

    **Returns:** `int32[n]`, `σ` with `σ[i]` the column of row `i`. The same assignment
    as `scipy.optimize.linear_sum_assignment` wherever the minimum is unique. Jit-able,
    vmap-able (vmap it over a leading batch axis), differentiable nowhere (its output is
    an integer array).
    """
    cost = jnp.asarray(cost)
    if cost.ndim != 2 or cost.shape[0] != cost.shape[1]:
        raise ValueError(f"linear_assignment: cost must be a square [n, n] matrix, got shape {cost.shape}.")
    n = cost.shape[0]
    dtype = jnp.result_type(cost.dtype, jnp.float32)
    cost = cost.astype(dtype)
    inf = jnp.asarray(jnp.inf, dtype)
    # Duals row_pot (u) and col_pot (v) keep every reduced cost C[i, j] − u_i − v_j ≥ 0 and
    # the matched ones at 0. Each new row grows a shortest-path tree over the columns
    # (distances in reduced costs) until it reaches a free column, then the duals are
    # moved once and the path is flipped.

    def add_row(row, carry):
        row_pot, col_pot, col_of, row_of = carry

        def search_step(state):
            i, base, dist, came_from, done, _, _ = state
            reduced = base + cost[i] - row_pot[i] - col_pot
            closer = ~done & (reduced < dist)
            dist = jnp.where(closer, reduced, dist)
            came_from = jnp.where(closer, i, came_from)
            j = jnp.argmin(jnp.where(done, inf, dist)).astype(jnp.int32)
            done = done.at[j].set(True)
            return row_of[j], dist[j], dist, came_from, done, j, row_of[j] < 0

        start = (row, jnp.zeros((), dtype), jnp.full(n, inf, dtype), jnp.full(n, -1, jnp.int32),
                 jnp.zeros(n, bool), jnp.int32(0), jnp.bool_(False))
        _, shortest, dist, came_from, done, sink, _ = jax.lax.while_loop(lambda s: ~s[-1], search_step, start)
        # duals: the new row and the tree's rows rise, the tree's columns fall
        matched = jnp.where(col_of >= 0, col_of, 0)
        in_tree = (col_of >= 0) & done[matched]
        row_pot = jnp.where(in_tree, row_pot + shortest - dist[matched], row_pot)
        row_pot = row_pot.at[row].add(shortest)
        col_pot = jnp.where(done, col_pot - (shortest - dist), col_pot)

        def flip(state):
            j, col_of, row_of, _ = state
            i = came_from[j]
            previous = col_of[i]
            return previous, col_of.at[i].set(j), row_of.at[j].set(i), i == row

        _, col_of, row_of, _ = jax.lax.while_loop(lambda s: ~s[-1], flip, (sink, col_of, row_of, jnp.bool_(False)))
        return row_pot, col_pot, col_of, row_of

    carry = (jnp.zeros(n, dtype), jnp.zeros(n, dtype), jnp.full(n, -1, jnp.int32), jnp.full(n, -1, jnp.int32))
    _, _, col_of, _ = jax.lax.fori_loop(0, n, add_row, carry)
    return col_of


def relabelled(W: Float[Array, "n n"], perm: Int[Array, " n"]) -> Float[Array, "n n"]:
    """P W Pᵀ for the permutation with P[i, perm[i]] = 1: `W[perm][:, perm]`."""
    return W[perm][:, perm]


def _objective(W1, W2, P):
    return jnp.sum(W1 * (P @ W2 @ P.T))


def _frank_wolfe(W1, W2, P0, max_iter, tol):
    n = W1.shape[0]

    def step(state):
        P, it, _ = state
        grad = W1 @ P @ W2.T + W1.T @ P @ W2
        Q = jax.nn.one_hot(linear_assignment(-grad), n, dtype=P.dtype)
        R = Q - P
        # f(P + αR) = f(P) + αb + α²a along the step (the objective is quadratic)
        a = _objective(W1, W2, R)
        b = jnp.sum(W1 * (R @ W2 @ P.T)) + jnp.sum(W1 * (P @ W2 @ R.T))
        vertex = jnp.where(a + b > 0, 1.0, 0.0)
        interior = jnp.where(a < 0, -b / (2 * jnp.where(a < 0, a, -1.0)), -1.0)
        alpha = jnp.where((interior >= 0) & (interior <= 1), interior, vertex).astype(P.dtype)
        new = P + alpha * R
        moved = jnp.linalg.norm(new - P) / jnp.sqrt(n)
        return new, it + 1, moved < tol

    P, _, _ = jax.lax.while_loop(lambda s: (s[1] < max_iter) & ~s[2], step, (P0, 0, jnp.bool_(False)))
    return linear_assignment(-P)


def _random_doubly_stochastic(key, n, dtype):
    """(J + K) / 2 with K a Sinkhorn-balanced uniform matrix: a random start inside the
    Birkhoff polytope, near its centre (the paper's randomised start)."""
    K = jr.uniform(key, (n, n), dtype)

    def balance(_, K):
        K = K / K.sum(axis=1, keepdims=True)
        return K / K.sum(axis=0, keepdims=True)

    K = jax.lax.fori_loop(0, 50, balance, K)
    return (jnp.full((n, n), 1.0 / n, dtype) + K) / 2


def _brute_force(W1, W2):
    n = W1.shape[0]
    perms = jnp.asarray(list(itertools.permutations(range(n))), dtype=jnp.int32).reshape(-1, n)
    costs = jax.vmap(lambda p: jnp.sum((W1 - relabelled(W2, p)) ** 2))(perms)
    return perms[jnp.argmin(costs)]


def faq_permutation(
    W1: Float[Array, "n n"],
    W2: Float[Array, "n n"],
    *,
    n_restarts: int = 8,
    key: PRNGKeyArray,
    max_iter: int = FAQ_MAX_ITER,
    tol: float = FAQ_TOL,
    brute_force_max: int = 7,
) -> Int[Array, " n"]:
    """The relabelling `perm` of W2's units closest to W1: min ‖W1 − `W2[perm][:, perm]`‖_F.

    Exact (all n! relabellings, vectorised) for n ≤ `brute_force_max`; otherwise the best
    of `n_restarts` FAQ solves (one from the barycentre J = 1/n, the others from random
    doubly stochastic starts drawn with `key`, all vmapped) and of the identity, so the
    distance never exceeds ‖W1 − W2‖_F. Jit-able and vmap-able over pairs.
    """
    n = W1.shape[0]
    if n <= brute_force_max:
        return _brute_force(W1, W2)
    dtype = W1.dtype
    keys = jr.split(key, max(n_restarts - 1, 1))
    randoms = jax.vmap(lambda k: _random_doubly_stochastic(k, n, dtype))(keys)[: n_restarts - 1]
    starts = jnp.concatenate([jnp.full((1, n, n), 1.0 / n, dtype), randoms])
    perms = jax.vmap(lambda P0: _frank_wolfe(W1, W2, P0, max_iter, tol))(starts)
    perms = jnp.concatenate([jnp.arange(n, dtype=jnp.int32)[None], perms])
    costs = jax.vmap(lambda p: jnp.sum((W1 - relabelled(W2, p)) ** 2))(perms)
    return perms[jnp.argmin(costs)]
