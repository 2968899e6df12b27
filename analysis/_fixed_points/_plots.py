"""Figures of fixed points: state space (PCA of trajectories) and eigenvalue spectra."""

import numpy as np

from ._points import SADDLE, STABLE, UNSTABLE, FixedPoints

# Marker and colour per stability code; slow points are drawn hollow.
_STYLE = {
    STABLE: dict(marker="o", color="black", label="stable"),
    SADDLE: dict(marker="X", color="tab:red", label="saddle"),
    UNSTABLE: dict(marker="^", color="tab:orange", label="unstable"),
}


def _one_model(fixed_points: FixedPoints, owner: str) -> FixedPoints:
    if np.ndim(fixed_points.valid) != 1:
        raise ValueError(
            f"{owner}: fixed_points has leading axes {fixed_points.batch_shape}; plot one "
            "model at a time, e.g. fixed_points[i] for member i."
        )
    return fixed_points


def _axes(ax, projection=None):
    import matplotlib.pyplot as plt

    if ax is None:
        fig = plt.figure(figsize=(5, 5))
        ax = fig.add_subplot(projection=projection)
    return ax.figure, ax


def pca_basis(states, n_components: int = 2):
    """Mean and the first principal axes `[n_components, state]` of states `[..., state]`."""
    flat = np.asarray(states, dtype=float).reshape(-1, np.shape(states)[-1])
    flat = flat[np.all(np.isfinite(flat), axis=1)]
    mean = flat.mean(0)
    _, _, vt = np.linalg.svd(flat - mean, full_matrices=False)
    return mean, vt[:n_components]


def plot_fixed_points(
    fixed_points: FixedPoints,
    trajectories_states,
    *,
    ax=None,
    n_components: int = 2,
    max_trajectories: int = 20,
    show_slow: bool = True,
    show_connections: bool = True,
):
    """Trajectories and fixed points in the PCA space of the trajectories.

    Stable points are black dots, saddles red crosses, fully unstable points orange
    triangles; slow points are drawn hollow. Each one-mode saddle is joined by a dashed
    line to the attractors its unstable direction leads to (`connect_saddles`).

    **Arguments:**

    - `fixed_points`: one model's result (index members first: `fps[i]`).
    - `trajectories_states`: `[..., time, state]` (e.g. `[trial, time, state]`); the
      principal axes come from all of them, the first `max_trajectories` are drawn.
    - `n_components`: 2 or 3 (a 3-D axes).

    **Returns:** the matplotlib `Figure`.
    """
    fps = _one_model(fixed_points, "plot_fixed_points")
    if n_components not in (2, 3):
        raise ValueError(f"plot_fixed_points: n_components must be 2 or 3, got {n_components}.")
    states = np.asarray(trajectories_states)
    mean, basis = pca_basis(states, n_components)
    project = lambda x: (np.asarray(x) - mean) @ basis.T
    fig, ax = _axes(ax, "3d" if n_components == 3 else None)
    trajs = states.reshape(-1, *states.shape[-2:])[:max_trajectories]
    for traj in trajs:
        ax.plot(*project(traj).T, color="tab:blue", alpha=0.3, lw=0.8)

    valid = np.asarray(fps.valid) & (show_slow | ~np.asarray(fps.slow))
    points = project(np.asarray(fps.points))
    if show_connections:
        attractors = np.asarray(fps.attractors)
        for i in np.flatnonzero(valid):
            for j in attractors[i]:
                if j >= 0:
                    ax.plot(*points[[i, j]].T, color="gray", ls="--", lw=1)
    stability, slow = np.asarray(fps.stability), np.asarray(fps.slow)
    for code, style in _STYLE.items():
        for is_slow in (False, True):
            sel = valid & (stability == code) & (slow == is_slow)
            if not sel.any():
                continue
            face = "none" if is_slow else style["color"]
            label = style["label"] + (" (slow)" if is_slow else "")
            ax.scatter(
                *points[sel].T,
                marker=style["marker"],
                facecolors=face,
                edgecolors=style["color"],
                s=60,
                zorder=3,
                label=label,
            )
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    if n_components == 3:
        ax.set_zlabel("PC 3")
    ax.legend(loc="best", fontsize="small")
    return fig


def plot_eigenvalues(fixed_points: FixedPoints, *, ax=None, include_slow: bool = False):
    """Eigenvalue spectra of the valid points against the stability boundary.

    Discrete models: the eigenvalues of the step map's Jacobian with the unit circle;
    continuous models: those of ∂F/∂h with the imaginary axis. One colour per
    stability class (stable black, saddle red, unstable orange).

    **Returns:** the matplotlib `Figure`.
    """
    fps = _one_model(fixed_points, "plot_eigenvalues")
    fig, ax = _axes(ax)
    valid = np.asarray(fps.valid) & (include_slow | ~np.asarray(fps.slow))
    eig = np.asarray(fps.eigenvalues)
    stability = np.asarray(fps.stability)
    if fps.continuous:
        ax.axvline(0.0, color="gray", lw=1)
    else:
        theta = np.linspace(0, 2 * np.pi, 256)
        ax.plot(np.cos(theta), np.sin(theta), color="gray", lw=1)
        ax.set_aspect("equal")
    for code, style in _STYLE.items():
        lam = eig[valid & (stability == code)].ravel()
        if lam.size:
            ax.scatter(
                lam.real, lam.imag, s=12, color=style["color"], label=style["label"], alpha=0.7
            )
    ax.set_xlabel("Re λ")
    ax.set_ylabel("Im λ")
    ax.legend(loc="best", fontsize="small")
    return fig
