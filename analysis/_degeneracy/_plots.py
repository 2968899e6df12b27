"""Figures of degeneracy: pairwise matrices and MDS embeddings, from `degeneracy_to_dataset`."""

import numpy as np
import xarray as xr
from jaxtyping import Float


def mds(D: Float[np.ndarray, "member member_"], n_components: int = 2) -> Float[np.ndarray, "member component"]:
    """Classical (Torgerson) multidimensional scaling of a complete distance matrix.

    B = −½ J D² J with J = I − 11ᵀ/n; the coordinates are the top eigenvectors of B scaled
    by the square roots of their (clipped to ≥ 0) eigenvalues, so Euclidean distances
    between rows approximate D.
    """
    D = np.asarray(D, dtype=float)
    if not np.all(np.isfinite(D)):
        raise ValueError("mds: the distance matrix has missing (NaN) entries; embed complete blocks only.")
    n = len(D)
    J = np.eye(n) - 1.0 / n
    w, V = np.linalg.eigh(-0.5 * J @ (D**2) @ J)
    top = np.argsort(w)[::-1][:n_components]
    coords = V[:, top] * np.sqrt(np.clip(w[top], 0.0, None))
    if coords.shape[1] < n_components:
        coords = np.pad(coords, ((0, 0), (0, n_components - coords.shape[1])))
    return coords


def _order(ds: xr.Dataset, order_by: str | None) -> np.ndarray:
    keys = [ds["member_condition"].values]
    if order_by is not None:
        keys.insert(0, ds[order_by].values)
    return np.lexsort(keys[::-1])


def plot_distance_matrix(ds: xr.Dataset, name: str, *, order_by: str | None = None, ax=None):
    """Show the `[member, member_]` matrix `ds[name]`, members grouped by condition.

    Members are sorted by condition (then by the coordinate `order_by`), thin lines
    separate conditions, and uncomputed pairs (NaN) stay blank. Returns the Axes.
    """
    import matplotlib.pyplot as plt

    if name not in ds or ds[name].dims != ("member", "member_"):
        raise ValueError(
            f"plot_distance_matrix: {name!r} is not a (member, member_) matrix of this dataset; "
            f"available: {[v for v in ds.data_vars if ds[v].dims == ('member', 'member_')]}."
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4))
    order = _order(ds, order_by)
    image = ax.imshow(ds[name].values[np.ix_(order, order)], cmap="viridis", interpolation="nearest")
    ax.figure.colorbar(image, ax=ax, label=name)
    codes = ds["member_condition"].values[order]
    for edge in np.flatnonzero(np.diff(codes)) + 0.5:
        ax.axhline(edge, color="w", lw=0.8)
        ax.axvline(edge, color="w", lw=0.8)
    if len(order) <= 30:
        ids = [str(m) for m in ds["member"].values[order]]
        ax.set_xticks(range(len(order)), ids, rotation=90, fontsize="small")
        ax.set_yticks(range(len(order)), ids, fontsize="small")
    ax.set_xlabel("member")
    ax.set_ylabel("member")
    ax.set_title(name)
    return ax


def plot_mds(ds: xr.Dataset, name: str, *, color_by: str | None = None, ax=None):
    """A 2-D MDS embedding of the members under the distance `ds[name]`.

    With every pair computed, one embedding of all members. When pairs were computed only
    within conditions, each condition is embedded on its own and the clouds are laid
    side by side, in the distance's units, so their spreads compare but positions across
    clouds mean nothing. A similarity (a matrix whose diagonal is 1, such as CKA) is
    embedded as the distance 1 − similarity. Points are coloured by the member
    coordinate `color_by` (default: the condition). Returns the Axes.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4))
    D = ds[name].values
    similarity = bool(np.all(np.diag(D) == 1.0))
    if similarity:
        D = 1.0 - D
    codes = ds["member_condition"].values
    blocks = [np.arange(len(D))] if np.all(np.isfinite(D)) else [
        np.flatnonzero(codes == c) for c in np.unique(codes)
    ]
    xy = np.zeros((len(D), 2))
    gap, offset = 0.5 * np.nanmax(D, initial=0.0), 0.0
    for members in blocks:
        block = mds(D[np.ix_(members, members)])
        block[:, 0] += offset - block[:, 0].min()
        xy[members] = block
        offset = block[:, 0].max() + gap

    label = color_by or "condition"
    values = ds[color_by].values if color_by else ds["condition"].values[codes]
    if np.issubdtype(np.asarray(values).dtype, np.number):
        points = ax.scatter(xy[:, 0], xy[:, 1], c=values, cmap="viridis", s=18)
        ax.figure.colorbar(points, ax=ax, label=label)
    else:
        for value in dict.fromkeys(values.tolist()):
            sel = values == value
            ax.scatter(xy[sel, 0], xy[sel, 1], s=18, label=str(value))
        ax.legend(title=label, fontsize="small")
    shown = f"1 − {name}" if similarity else name
    ax.set_title(f"MDS of {shown}" + ("" if len(blocks) == 1 else " (per condition)"))
    ax.set(xlabel=f"MDS 1 ({shown})", ylabel=f"MDS 2 ({shown})")
    ax.set_aspect("equal", adjustable="datalim")
    return ax


def plot_degeneracy(ds: xr.Dataset, names=None, *, color_by: str | None = None):
    """One row per pairwise level: its matrix and its MDS embedding. Returns the Figure."""
    import matplotlib.pyplot as plt

    names = names or [v for v in ds.data_vars if ds[v].dims == ("member", "member_")]
    fig, axes = plt.subplots(len(names), 2, figsize=(9, 4 * len(names)), squeeze=False)
    for row, name in zip(axes, names):
        plot_distance_matrix(ds, name, ax=row[0])
        plot_mds(ds, name, color_by=color_by, ax=row[1])
    fig.tight_layout()
    return fig
