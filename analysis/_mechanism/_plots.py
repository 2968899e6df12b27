"""Figures of the mechanism analyses, drawn from one member's stored Dataset.

Every function takes `ds.sel(member=m)` of an `hmm_mechanism` result (or of
`mechanism_to_dataset`) and an optional matplotlib axis; figures are built with
`matplotlib.figure.Figure`, so no backend is chosen or changed here.
"""

import numpy as np
import xarray as xr

from ._residency import LABELS

_LABEL_COLOURS = ("tab:red", "tab:orange", "tab:blue", "tab:gray")


def _axes(ax, size=(5, 4)):
    if ax is None:
        from matplotlib.figure import Figure

        fig = Figure(figsize=size)
        ax = fig.add_subplot()
    return ax.figure, ax


def _one_member(ds: xr.Dataset, owner: str) -> xr.Dataset:
    if "member" in ds.dims:
        raise ValueError(
            f"{owner}: ds has a member dimension of size {ds.sizes['member']}; plot one "
            "member at a time, e.g. ds.sel(member=3)."
        )
    return ds


def _absent(ds: xr.Dataset, var: str, ax, title: str) -> bool:
    """Say so on `ax` when `var` was not computed (a part left out of the analysis)."""
    if var in ds:
        return False
    ax.text(0.5, 0.5, "not computed", ha="center", va="center", transform=ax.transAxes)
    ax.set(title=title)
    return True


def plot_orbits(ds: xr.Dataset, *, ax=None):
    """The first states of each noise-driven run in its PC1–2 plane, one line per scale."""
    ds = _one_member(ds, "plot_orbits")
    fig, ax = _axes(ax)
    if _absent(ds, "global_trace", ax, "orbits under noise"):
        return fig
    trace = np.asarray(ds["global_trace"].values)
    for i, scale in enumerate(np.asarray(ds["scale"].values)):
        ax.plot(trace[i, :, 0], trace[i, :, 1], lw=0.6, label=f"σ = {scale:g}")
    ax.set(xlabel="PC1", ylabel="PC2", title="orbits under noise")
    ax.legend(fontsize=7)
    return fig


def plot_orbit_size(ds: xr.Dataset, *, ax=None):
    """Orbit radius against noise scale, with the line through the first point (∝ σ)."""
    ds = _one_member(ds, "plot_orbit_size")
    fig, ax = _axes(ax)
    if _absent(ds, "global_radius", ax, "orbit size"):
        return fig
    scale = np.asarray(ds["scale"].values)
    radius = np.asarray(ds["global_radius"].values)
    ax.plot(scale, radius, "o-", label="radius")
    ax.plot(scale, radius[0] * scale / scale[0], "k--", lw=0.8, label="∝ σ")
    ax.set(xlabel="noise std σ", ylabel="orbit radius", title="orbit size")
    ax.legend(fontsize=7)
    return fig


def plot_residency(ds: xr.Dataset, *, ax=None):
    """The segmented trajectory in its PC1–2 plane, coloured by label."""
    ds = _one_member(ds, "plot_residency")
    fig, ax = _axes(ax)
    if _absent(ds, "residency_trace", ax, "residency labels"):
        return fig
    trace = np.asarray(ds["residency_trace"].values)
    label = np.asarray(ds["residency_label"].values)
    ax.plot(trace[:, 0], trace[:, 1], color="0.85", lw=0.5, zorder=0)
    for code, (name, colour) in enumerate(zip(LABELS, _LABEL_COLOURS)):
        keep = label == code
        ax.scatter(trace[keep, 0], trace[keep, 1], s=4, color=colour, label=name)
    ax.set(xlabel="PC1", ylabel="PC2", title="residency labels")
    ax.legend(fontsize=7, markerscale=3)
    return fig


def plot_dwell(ds: xr.Dataset, *, ax=None):
    """Histogram of the dwell time of every trajectory state (steps until the argmax
    output changes), one per output class, with each class's mean dwell dashed."""
    ds = _one_member(ds, "plot_dwell")
    fig, ax = _axes(ax)
    if _absent(ds, "residency_dwell", ax, "dwell times"):
        return fig
    dwell = np.asarray(ds["residency_dwell"].values, dtype=float)
    output = np.asarray(ds["residency_class"].values)
    means = np.asarray(ds["residency_class_dwell"].values, dtype=float)
    bins = np.arange(0, np.nanmax(dwell) + 2) - 0.5 if np.isfinite(dwell).any() else 10
    for c in range(len(means)):
        keep = output == c
        if not keep.any():
            continue
        (patch,) = ax.hist(dwell[keep], bins=bins, histtype="step", label=f"output {c}")[2]
        if np.isfinite(means[c]):
            ax.axvline(means[c], color=patch.get_edgecolor(), ls="--", lw=1)
    ax.set(xlabel="dwell (steps)", ylabel="states", title="dwell times (dashed: class mean)")
    ax.legend(fontsize=7)
    return fig


def plot_unstable(ds: xr.Dataset, *, ax=None):
    """Mean number of unstable local eigenvalues per label."""
    ds = _one_member(ds, "plot_unstable")
    fig, ax = _axes(ax)
    if _absent(ds, "linear_mean_unstable", ax, "local linearisation"):
        return fig
    values = np.asarray(ds["linear_mean_unstable"].values)
    ax.bar(np.arange(len(LABELS)), np.nan_to_num(values), color=_LABEL_COLOURS)
    ax.set_xticks(np.arange(len(LABELS)), LABELS, fontsize=8)
    ax.set(ylabel="unstable eigenvalues (mean)", title="local linearisation")
    return fig


def plot_drive_scaling(ds: xr.Dataset, *, ax=None):
    """Output changes per sequence against μ, for the target and the control set."""
    ds = _one_member(ds, "plot_drive_scaling")
    fig, ax = _axes(ax)
    if _absent(ds, "scaling_changes", ax, "drive scaling"):
        return fig
    mu = np.asarray(ds["mu"].values)
    changes = np.asarray(ds["scaling_changes"].values)
    persists = np.asarray(ds["scaling_persists"].values)
    for i, name in enumerate(np.asarray(ds["set"].values)):
        line, = ax.plot(mu, changes[i], "o-", label=str(name))
        ax.scatter(mu[~persists[i]], changes[i][~persists[i]], marker="x", s=60, color=line.get_color())
    ax.axhline(float(ds["scaling_baseline_changes"]), color="k", ls="--", lw=0.8, label="unperturbed")
    ax.set(xlabel="drive scale μ", ylabel="output changes / sequence", title="drive scaling (x: orbit gone)")
    ax.legend(fontsize=7)
    return fig


def plot_training_dynamics(ds: xr.Dataset, *, ax=None):
    """The fixed point's largest |λ| and the training loss against the snapshot step."""
    ds = _one_member(ds, "plot_training_dynamics")
    fig, ax = _axes(ax)
    if "training_eigenvalues_real" not in ds:
        ax.text(0.5, 0.5, "no parameter snapshots", ha="center", va="center", transform=ax.transAxes)
        ax.set(title="training dynamics")
        return fig
    eig = np.asarray(ds["training_eigenvalues_real"].values) + 1j * np.asarray(ds["training_eigenvalues_imag"].values)
    x = np.asarray(ds["snapshot_step"].values) if "snapshot_step" in ds.coords else np.arange(eig.shape[0])
    ax.plot(x, np.abs(eig).max(axis=-1), "o-", color="tab:purple", label="max |λ| at the fixed point")
    ax.axhline(1.0, color="k", ls=":", lw=0.8)
    ax.set(xlabel="training step", ylabel="max |λ|", title="training dynamics")
    if "training_loss" in ds:
        twin = ax.twinx()
        twin.plot(x, np.asarray(ds["training_loss"].values), color="tab:green", lw=1, label="loss")
        twin.set_ylabel("loss", color="tab:green")
    ax.legend(fontsize=7, loc="upper left")
    return fig


def plot_mechanism(ds: xr.Dataset):
    """All seven panels for one member: orbits, orbit size, residency labels, dwell
    times, unstable eigenvalues per label, drive scaling, training dynamics.
    **Returns:** a Figure."""
    from matplotlib.figure import Figure

    ds = _one_member(ds, "plot_mechanism")
    fig = Figure(figsize=(20, 8.5), layout="constrained")
    axes = fig.subplots(2, 4).ravel()
    panels = (
        plot_orbits, plot_orbit_size, plot_residency, plot_dwell, plot_unstable, plot_drive_scaling,
        plot_training_dynamics,
    )
    for panel, ax in zip(panels, axes):
        panel(ds, ax=ax)
    axes[-1].remove()
    return fig
