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


#: what each variable is, for those whose entry below does not say it
LONG_NAMES = {
    "global_pc_variance": "variance along PC1 and PC2 of the noise-driven run",
    "global_samples": "sampled states of the run, PC1-2",
    "global_changes_per_step": "argmax-output changes per step of the noise-driven run",
    "global_sample_spread": "RMS distance of the sampled states from their mean",
    "global_relaxed_spread": "max distance of the relaxed (zero-input) states from their mean",
    "global_fixed_point": "fixed point the relaxed states approach (Newton-refined)",
    "global_fixed_point_residual": "residual of the refined fixed point",
    "global_fixed_point_distance": "max distance of a relaxed state from the fixed point",
    "global_n_unstable": "unstable Jacobian eigenvalues at the fixed point",
    "global_collapsed": "the relaxed states collapsed to one point (relaxed spread <= collapse_tol x sample spread)",
    "residency_dwell": "mean steps until the argmax output changes, over noisy continuations",
    "residency_censored": "fraction of continuations with no output change within max_dwell",
    "residency_class": "argmax output class of the state",
    "residency_confidence": "max of softmax(readout) at the state",
    "residency_class_dwell": "mean dwell time of the states of each output class",
    "residency_label_count": "states with each label",
    "residency_trace": "the segmented trajectory, PC1-2",
    "linear_n_unstable": "unstable eigenvalues of the zero-input Jacobian at each state",
    "linear_mean_unstable": "mean number of unstable eigenvalues over the states of each label",
    "linear_fraction_unstable": "fraction of the states of each label with an unstable mode",
    "units_kick": "kick units (hidden-unit indices, best first)",
    "units_kick_score": "score of each kick unit",
    "units_score": "kick score of every unit (pre-activation rise from clusters to transitions)",
    "units_label_pre_activation": "mean pre-activation of each unit over the states of each label",
    "units_population": "noise-integrating populations (hidden-unit indices)",
    "units_population_score": "selection score of each population unit",
    "units_population_weights": "mean recurrent weight from population (column) onto population (row)",
    "units_population_to_kick": "mean recurrent weight from each population onto the kick units",
    "scaling_units": "units whose recurrent drive is scaled, per set (target, control)",
    "scaling_dwell": "mean run length of the argmax output over the long run",
    "scaling_radius": "RMS orbit radius within the unperturbed network's PC1-2 plane",
    "scaling_radius_ratio": "orbit radius over the unperturbed radius",
    "scaling_persists": "the orbit persists (radius ratio >= persist_ratio)",
    "scaling_baseline_changes": "output changes per sequence of the unperturbed network",
    "scaling_baseline_dwell": "mean run length of the argmax output, unperturbed network",
    "scaling_baseline_radius": "orbit radius of the unperturbed network",
    "training_n_unstable": "unstable Jacobian eigenvalues at the fixed point, per snapshot",
    "training_radius": "orbit radius in the PC1-2 plane, per snapshot",
    "training_area": "orbit area 2 pi sqrt(l1 l2), per snapshot",
    "training_relaxed_spread": "max distance of the relaxed states from their mean, per snapshot",
    "training_sample_spread": "RMS distance of the sampled states from their mean, per snapshot",
    "training_collapsed": "the relaxed states collapsed to one point, per snapshot",
}


def _label_attrs() -> dict:
    return {
        "long_name": "residency label of the state",
        "flag_values": list(range(len(LABELS))),
        "flag_meanings": " ".join(LABELS),
    }


def _complex(data: dict, name: str, dims: tuple, values, attrs: dict) -> None:
    values = np.asarray(values)
    what = f"Jacobian eigenvalues at {attrs['at']}, most unstable first"
    data[name + "_real"] = (dims, values.real, {**attrs, "part": "real", "long_name": f"real part of the {what}"})
    data[name + "_imag"] = (dims, values.imag, {**attrs, "part": "imaginary", "long_name": f"imaginary part of the {what}"})


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
        "label": ("label", np.asarray(LABELS), {"long_name": "residency label"}),
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
        coords["scale"] = ("scale", a(g.scales)[0], {"long_name": "input noise std of the orbit run"})
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
        coords["mu"] = ("mu", a(s.mu)[0], {"long_name": "scale mu of the recurrent drive into the set", "units": "1"})
        coords["set"] = ("set", np.asarray(SETS), {"long_name": "unit set: the target set or a random control of its size"})
    if g is not None or r is not None:
        coords["pc"] = ("pc", np.asarray(["PC1", "PC2"]), {"long_name": "principal component of the noise-driven run"})
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
    ds = xr.Dataset(data, coords=coords, attrs=attrs)
    for name in ds.variables:
        if "long_name" not in ds[name].attrs and name in LONG_NAMES:
            ds[name].attrs["long_name"] = LONG_NAMES[str(name)]
    return ds
