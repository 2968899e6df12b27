"""One static HTML page for a sweep: members, training curves, every stored analysis.

`report(store)` writes a single file (figures embedded as PNG data, no scripts, no
server): it opens from a shared filesystem in any browser. `SweepStore._repr_html_`
shows the same summary (without figures) in Jupyter.
"""

import base64
import datetime
import html
import io
import json
import pathlib
import warnings

import numpy as np

from .._version import __version__
from ..store._html import _hyperparameters, _label, summary_html, sweep_name

#: marks a file as a neurodyn report, which `report` may replace
GENERATOR = "neurodyn report"
#: at most this many members get their own line in a figure (the rest are summarised)
MAX_LINES = 24

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
h1 { font-size: 1.5em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; font-size: .9em; }
th, td { border: 1px solid #ddd; padding: .25em .6em; text-align: right; }
th { background: #f3f3f3; } td.text { text-align: left; }
tr.status-diverged td, tr.status-damaged td { background: #fde2e2; }
tr.status-not_converged td { background: #fff4d6; } tr.status-pending td { color: #888; }
pre { background: #f7f7f7; padding: .8em; overflow-x: auto; font-size: .85em; }
img { max-width: 100%; border: 1px solid #eee; margin: .5em 0; }
.error { background: #fde2e2; padding: .6em; border-left: 4px solid #c00; }
.meta { color: #555; }
"""


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(title: str, draw) -> str:
    """`draw()` returns a Figure; an error becomes a visible note (and a warning)."""
    try:
        fig = draw()
    except Exception as err:  # a figure that cannot be drawn must not lose the page
        warnings.warn(f"report: {title}: {type(err).__name__}: {err}", stacklevel=3)
        return f'<p class="error">{html.escape(title)} could not be drawn: {html.escape(type(err).__name__)}: {html.escape(str(err))}</p>'
    return f'<figure><img alt="{html.escape(title)}" src="data:image/png;base64,{_png(fig)}"><figcaption>{html.escape(title)}</figcaption></figure>'


def _curves(sweep, group: str, hyper):
    import matplotlib.pyplot as plt

    ds = sweep.group(group, chunks=None)
    members = sweep.members
    ids = np.asarray(ds["member"].values)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    shown = ids[:MAX_LINES]
    for pos, member in enumerate(shown):
        label = _label(members, hyper, int(member))
        loss = np.asarray(ds["loss"].values[pos])
        axes[0].plot(np.asarray(ds["step"].values), loss, lw=0.8, label=label)
        axes[1].plot(np.asarray(ds["eval_step"].values), np.asarray(ds["eval_loss"].values[pos]), "o-", ms=3,
                     lw=0.8, label=label)
    for ax, what in zip(axes, ("training-batch loss", "held-out loss after each epoch")):
        ax.set(xlabel="training step", ylabel="loss", title=f"{group}: {what}")
        _log_if_positive(ax, ds["loss"].values if ax is axes[0] else ds["eval_loss"].values)
    more = f" (first {MAX_LINES} of {len(ids)} members)" if len(ids) > MAX_LINES else ""
    axes[1].legend(fontsize=7, title=f"{len(shown)} members{more}", title_fontsize=7)
    fig.tight_layout()
    return fig


def _log_if_positive(ax, values):
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size and np.all(v > 0):
        ax.set_yscale("log")
        lo, hi = np.percentile(v, [1, 100])  # the data's range, not a fitted tail
        ax.set_ylim(lo / 1.5, hi * 1.5)


def _fixed_points(ds, members, hyper):
    import matplotlib.pyplot as plt

    ids = np.asarray(ds["member"].values)[:MAX_LINES]
    stability = np.asarray(ds["stability"].values)[: len(ids)]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    x = np.arange(len(ids))
    bottom = np.zeros(len(ids))
    for code, name, color in ((0, "stable", "C2"), (1, "saddle", "C1"), (2, "unstable", "C3")):
        count = (stability == code).sum(axis=1)
        axes[0].bar(x, count, bottom=bottom, color=color, label=name)
        bottom += count
    axes[0].set_xticks(x, [_label(members, hyper, int(m)) for m in ids], rotation=60, ha="right", fontsize=7)
    axes[0].set(ylabel="fixed points", title="fixed points per member, by stability")
    axes[0].legend(fontsize=8)
    re_, im = np.asarray(ds["eigenvalues_real"].values), np.asarray(ds["eigenvalues_imag"].values)
    ok = np.isfinite(re_) & np.isfinite(im)
    axes[1].scatter(re_[ok], im[ok], s=4, alpha=0.5)
    continuous = bool(ds.attrs.get("continuous", False))
    if continuous:
        axes[1].axvline(0.0, color="k", lw=0.8)
    else:
        t = np.linspace(0, 2 * np.pi, 200)
        axes[1].plot(np.cos(t), np.sin(t), "k", lw=0.8)
    axes[1].set(xlabel="Re λ", ylabel="Im λ", title="Jacobian eigenvalues at every fixed point, all members"
                + (" (stable left of 0)" if continuous else " (stable inside the unit circle)"))
    fig.tight_layout()
    return fig


def _timescales(ds, members, hyper):
    import matplotlib.pyplot as plt

    ids = np.asarray(ds["member"].values)[:MAX_LINES]
    tau = np.asarray(ds["tau_net"].values)[: len(ids)]
    threshold = float(ds.attrs.get("tau_net_threshold", 1.0))
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    kept = tau[np.isfinite(tau) & (tau > threshold)]
    if kept.size:
        bins = np.geomspace(kept.min(), kept.max() * 1.001, 30) if kept.max() > kept.min() else 10
        for pos, member in enumerate(ids):
            row = tau[pos]
            row = row[np.isfinite(row) & (row > threshold)]
            if row.size:
                axes[0].hist(row, bins=bins, histtype="step", label=_label(members, hyper, int(member)))
        axes[0].set_xscale("log")
    axes[0].set(xlabel="τ_net (steps)", ylabel="units", title=f"unit timescales τ_net > {threshold:g}, per member")
    axes[0].legend(fontsize=7)
    x = np.arange(len(ids))
    axes[1].bar(x, np.asarray(ds["tau_net_median"].values)[: len(ids)], color="C0")
    axes[1].set_xticks(x, [_label(members, hyper, int(m)) for m in ids], rotation=60, ha="right", fontsize=7)
    axes[1].set(ylabel="median τ_net (steps)", title="median unit timescale per member")
    fig.tight_layout()
    return fig


def _analysis_figures(sweep, name: str, ds, hyper) -> list[str]:
    import matplotlib.pyplot as plt

    import neurodyn.analysis as na

    members = sweep.members
    if name == "fixed_points":
        return [_figure("Fixed points: counts by stability, and eigenvalues", lambda: _fixed_points(ds, members, hyper))]
    if name == "timescales":
        return [_figure("Timescales: τ_net per unit and median per member", lambda: _timescales(ds, members, hyper))]
    if name == "degeneracy":
        color_by = next((h for h in hyper if h != "seed"), None)
        return [_figure(f"Degeneracy: distance matrices and MDS embeddings (colour: {color_by or 'member'})",
                        lambda: na.plot_degeneracy(ds, color_by=color_by))]
    if name == "hmm_mechanism":
        out = []
        for member in np.asarray(ds["member"].values)[:4]:
            label = _label(members, hyper, int(member))

            def draw(member=member, label=label):
                fig = na.plot_mechanism(ds.sel(member=member))
                fig.suptitle(f"HMM mechanism, {label}")
                return fig

            out.append(_figure(f"HMM mechanism, {label}", draw))
        return out
    plt.close("all")
    return []


def _settings(ds) -> str:
    raw = ds.attrs.get("settings")
    if raw is None:
        return ""
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
        text = json.dumps(value, indent=2, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = str(raw)
    return f"<details open><summary>settings</summary><pre>{html.escape(text)}</pre></details>"


def report(store, out=None, *, overwrite: bool = False) -> pathlib.Path:
    """Write one static HTML page for a sweep store and return its path.

    The page holds the members table (hyperparameters, statuses, final losses), the
    training curves of every group, every analysis the store holds (fixed points,
    timescales, degeneracy, HMM mechanism) with its settings and figures, and the spec.
    Figures are embedded, so the file opens anywhere without a server.

    **Arguments:**

    - `store`: a store path or a `SweepStore`.
    - `out`: the HTML file to write; default `<store>.html` beside the store (e.g.
      `run.zarr` → `run.html`).
    - `overwrite`: replace `out` even if it is not a neurodyn report (an earlier report
      is always replaced).
    """
    import matplotlib.pyplot as plt

    from ..store import SweepStore, open_sweep

    sweep = store if isinstance(store, SweepStore) else open_sweep(store)
    path = pathlib.Path(out) if out is not None else sweep.path.with_suffix(".html")
    if path.is_dir():
        raise IsADirectoryError(f"report: out={str(path)!r} is a directory; give a file name such as {str(path / 'report.html')!r}.")
    if path.exists() and not overwrite and f'content="{GENERATOR}"' not in path.read_text(errors="replace")[:2000]:
        raise FileExistsError(
            f"report: {str(path)!r} exists and is not a neurodyn report; choose another --out or pass "
            "--overwrite (overwrite=True) to replace it."
        )
    # figures are drawn and closed without being shown: no backend is switched
    with plt.ioff():
        hyper = _hyperparameters(sweep.members)
        parts = [f"<h1>neurodyn sweep report</h1>{summary_html(sweep)}", "<h2>Training</h2>"]
        for group in sweep.groups:
            parts.append(_figure(f"Training curves of group {group}", lambda group=group: _curves(sweep, group, hyper)))
        for name in sweep.analyses:
            ds = sweep.analysis(name).load()
            parts.append(f"<h2>Analysis: {html.escape(name)}</h2>")
            parts.append(_settings(ds))
            parts.extend(_analysis_figures(sweep, name, ds, hyper))
    try:
        spec = sweep.spec.to_toml()
    except Exception:  # a store written by an older version may hold a spec this one rejects
        spec = json.dumps(sweep.attrs.get("spec"), indent=2)
    parts.append(f"<h2>Spec</h2><pre>{html.escape(spec)}</pre>")
    name = sweep_name(sweep)
    title = f"{name} ({sweep.path.name})" if name else sweep.path.name
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    page = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="generator" content="{GENERATOR}">'
        f"<title>neurodyn report: {html.escape(title)}</title><style>{_CSS}</style></head><body>"
        + "\n".join(parts)
        + f'<p class="meta">Made by neurodyn {__version__} at {stamp}.</p></body></html>'
    )
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return path
