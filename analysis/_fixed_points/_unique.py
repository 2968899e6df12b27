"""Greedy deduplication of fixed-point candidates into a fixed-size `fp` axis."""

import jax
import jax.numpy as jnp

from ._points import CONVERGED, SLOW


def deduplicate(h, q, status, tol, max_points):
    """Greedy merge, best first: a candidate starts a new point unless one lies within tol.

    Returns the points `[fp, state]`, the valid mask, each slot's representative
    candidate (-1 if empty) and each candidate's slot (-1 if none).
    """
    n, n_state = h.shape
    keep = (status == CONVERGED) | (status == SLOW)
    # Fixed points before slow points, each by increasing q; the rest last.
    rank = jnp.where(keep, status, 2)
    order = jnp.lexsort((jnp.where(keep, q, jnp.inf), rank))

    def body(carry, idx):
        points, rep, count = carry
        x = h[idx]
        dist = jnp.linalg.norm(points - x, axis=-1)
        dist = jnp.where(jnp.arange(max_points) < count, dist, jnp.inf)
        nearest = jnp.argmin(dist)
        duplicate = dist[nearest] <= tol
        new = keep[idx] & ~duplicate & (count < max_points)
        slot = jnp.minimum(count, max_points - 1)
        points = points.at[slot].set(jnp.where(new, x, points[slot]))
        rep = rep.at[slot].set(jnp.where(new, idx.astype(jnp.int32), rep[slot]))
        assigned = jnp.where(
            keep[idx] & duplicate, nearest.astype(jnp.int32), jnp.where(new, count, -1)
        )
        return (points, rep, count + new), assigned

    init = (
        jnp.zeros((max_points, n_state), h.dtype),
        jnp.full(max_points, -1, jnp.int32),
        jnp.asarray(0, jnp.int32),
    )
    (points, rep, count), assigned = jax.lax.scan(body, init, order)
    cand_fp = jnp.full(n, -1, jnp.int32).at[order].set(assigned.astype(jnp.int32))
    valid = jnp.arange(max_points) < count
    return points, valid, rep, cand_fp
