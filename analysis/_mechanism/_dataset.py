"""Member-stacked mechanism results as one labelled xarray Dataset per store group."""

import json
from typing import Any

import jax
import numpy as np
import xarray as xr

from neurodyn._version import __version__

from ._analyse import MechanismResult
from ._residency import LABELS
from ._scaling import SETS
from ._training import TrainingDynamicsResult

SCHEMA_VERSION = 1
NAME = "hmm_mechanism"


def _label_attrs() -> dict:
    return {"flag_values": list(range(len(LABELS))), "flag_meanings": " ".join(LABELS)}


def _complex(data: dict, name: str, dims: tuple, values, attrs: dict) -> None:
    values = np.asarray(values)
    data[name + "_real"] = (dims, values.real, {**attrs, "part": "real"})
    data[name + "_imag"] = (dims, values.imag, {**attrs, "part": "imaginary"})


def mechanism_to_dataset(
    result: MechanismResult,
    *,
    member: np.ndarray | None = None,
    settings: dict | None = None,
    training: TrainingDynamicsResult | None = None,
    snapshot_step: np.ndarray | None = None,
    snapshot_loss: np.ndarray | None = None,
) -> xr.Dataset:
    """Label member-stacked `analyse_mechanism` results with the store's dimension names.

    **Arguments:** `result` with a leading `member` axis (`eqx.filter_vmap` of
    `analyse_mechanism`); `member` ids; `settings` (a `settings_dict`, stored whole as
    JSON); `training` (`[member, snapshot]` `training_dynamics` results) with
    `snapshot_step` `[snapshot]` and `snapshot_loss` `[member, snapshot]`.

    **Returns:** a Dataset whose variables are prefixed by part: `global_*` `(member,
    scale, …)`, `residency_*` `(member, time | output | label)`, `linear_*` `(member,
    time, eig | label)`, `units_*` `(member, kick | hidden | population, …)`,
    `scaling_*` `(member, set, mu | hidden)`, `training_*` `(member, snapshot, …)`.
    Eigenvalues are stored as `*_real` / `*_imag`; labels as ints with flag attributes.
    """
    a = lambda x: np.asarray(x)
    g, r, lin, kick, pops, s = (
        result.global_dynamics, result.residency, result.linearisation, result.kick,
        result.populations, result.drive_scaling,
    )
    present = [x for x in (g, r, s) if x is not None]
    n_member = a(jax.tree_util.tree_leaves(present or [training])[0]).shape[0]
    m, sc = ("member",), ("member", "scale")
    data: dict[str, Any] = {}
    coords: dict[str, Any] = {
        "member": np.arange(n_member) if member is None else np.asarray(member),
        "label": np.asarray(LABELS),
    }
    if g is not None:
        data.update({
            "global_radius": (sc, a(g.radius), {"long_name": "orbit radius sqrt(l1 + l2) in the PC1-2 plane"}),
            "global_area": (sc, a(g.area), {"long_name": "orbit area 2 pi sqrt(l1 l2)"}),
            "global_pc_variance": (sc + ("pc",), a(g.pc_variance), {}),
            "global_explained": (sc, a(g.explained), {"long_name": "variance fraction in PC1-2"}),
            "global_trace": (sc + ("trace", "pc"), a(g.trace), {"long_name": "first states of the run, PC1-2"}),
            "global_samples": (sc + ("sample", "pc"), a(g.samples), {}),
            "global_changes_per_step": (sc, a(g.changes), {}),
            "global_sample_spread": (sc, a(g.sample_spread), {}),
            "global_relaxed_spread": (sc, a(g.relaxed_spread), {}),
            "global_fixed_point": (sc + ("state",), a(g.fixed_point), {}),
            "global_fixed_point_residual": (sc, a(g.fixed_point_residual), {}),
            "global_fixed_point_distance": (sc, a(g.fixed_point_distance), {}),
            "global_n_unstable": (sc, a(g.n_unstable).astype(np.int32), {}),
            "global_collapsed": (sc, a(g.collapsed), {}),
        })
        _complex(data, "global_eigenvalues", sc + ("eig",), g.eigenvalues, {"at": "the fixed point"})
        coords["scale"] = a(g.scales)[0]
    if r is not None:
        data.update({
            "residency_dwell": (m + ("time",), a(r.dwell), {"units": "steps"}),
            "residency_censored": (m + ("time",), a(r.censored), {}),
            "residency_class": (m + ("time",), a(r.output_class).astype(np.int32), {}),
            "residency_confidence": (m + ("time",), a(r.confidence), {}),
            "residency_label": (m + ("time",), a(r.label).astype(np.int32), _label_attrs()),
            "residency_class_dwell": (m + ("output",), a(r.class_dwell), {"units": "steps"}),
            "residency_label_count": (m + ("label",), a(r.label_count).astype(np.int64), {}),
            "residency_trace": (m + ("time", "pc"), a(result.residency_trace), {}),
        })
    if lin is not None:
        data.update({
            "linear_n_unstable": (m + ("time",), a(lin.n_unstable).astype(np.int32), {}),
            "linear_mean_unstable": (m + ("label",), a(lin.mean_unstable), {}),
            "linear_fraction_unstable": (m + ("label",), a(lin.fraction_unstable), {}),
        })
        _complex(data, "linear_eigenvalues", m + ("time", "eig"), lin.eigenvalues, {"at": "each state, zero input"})
    if kick is not None:
        data.update({
            "units_kick": (m + ("kick",), a(kick.index).astype(np.int64), {}),
            "units_kick_score": (m + ("kick",), a(kick.score), {}),
            "units_score": (m + ("hidden",), a(kick.unit_score), {}),
            "units_label_pre_activation": (m + ("label", "hidden"), a(kick.label_mean), {}),
            "units_population": (m + ("population", "population_unit"), a(pops.index).astype(np.int64), {}),
            "units_population_score": (m + ("population", "population_unit"), a(pops.score), {}),
            "units_population_weights": (m + ("population", "population_"), a(pops.weights), {}),
            "units_population_to_kick": (m + ("population",), a(pops.to_kick), {}),
        })
    if s is not None:
        data.update({
            "scaling_units": (m + ("set", "hidden"), a(s.units), {}),
            "scaling_changes": (m + ("set", "mu"), a(s.changes), {"long_name": "output changes per sequence"}),
            "scaling_dwell": (m + ("set", "mu"), a(s.dwell), {"units": "steps"}),
            "scaling_radius": (m + ("set", "mu"), a(s.radius), {}),
            "scaling_radius_ratio": (m + ("set", "mu"), a(s.radius_ratio), {}),
            "scaling_persists": (m + ("set", "mu"), a(s.persists), {}),
            "scaling_baseline_changes": (m, a(s.baseline_changes), {}),
            "scaling_baseline_dwell": (m, a(s.baseline_dwell), {"units": "steps"}),
            "scaling_baseline_radius": (m, a(s.baseline_radius), {}),
        })
        coords["mu"] = a(s.mu)[0]
        coords["set"] = np.asarray(SETS)
    if g is not None or r is not None:
        coords["pc"] = np.asarray(["PC1", "PC2"])
    if training is not None:
        ms = ("member", "snapshot")
        data["training_n_unstable"] = (ms, a(training.n_unstable).astype(np.int32), {})
        data["training_radius"] = (ms, a(training.radius), {})
        data["training_area"] = (ms, a(training.area), {})
        data["training_relaxed_spread"] = (ms, a(training.relaxed_spread), {})
        data["training_sample_spread"] = (ms, a(training.sample_spread), {})
        data["training_collapsed"] = (ms, a(training.collapsed), {})
        eig = a(training.eigenvalues)
        # share the `eig` dimension when its size agrees with the other eigenvalues'
        sizes = {a(values).shape[dims.index("eig")] for dims, values, _ in data.values() if "eig" in dims}
        eig_dim = "eig" if sizes <= {eig.shape[-1]} else "training_eig"
        _complex(data, "training_eigenvalues", ms + (eig_dim,), eig, {"at": "the fixed point"})
        if snapshot_loss is not None:
            data["training_loss"] = (ms, a(snapshot_loss), {"long_name": "training-batch loss at the snapshot step"})
        if snapshot_step is not None:
            coords["snapshot_step"] = ("snapshot", np.asarray(snapshot_step, dtype=np.int64))
    attrs = {
        "analysis": NAME,
        "schema_version": SCHEMA_VERSION,
        "neurodyn_version": __version__,
        "settings": json.dumps(dict(settings or {}), sort_keys=True, default=str),
        "reference": "Torre, Viscione, Pompe, Grewe, Mante, NeurIPS 2025",
    }
    return xr.Dataset(data, coords=coords, attrs=attrs)
