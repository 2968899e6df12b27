"""Solution degeneracy across the networks of a sweep, written back into its store."""

import json
import pathlib

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import xarray as xr

from neurodyn import _checks
from neurodyn.store import SweepStore, open_sweep, write_dataset

from .._over_members import Chunk, run_over_members
from .._settings import resolve
from ._behaviour import output_distance
from ._dataset import degeneracy_to_dataset
from ._dsa import (
    embedding_singular_values,
    fit_dmd,
    rank_from_singular_values,
)
from ._dsa_compare import DSA_SCORES, pairwise_dsa
from ._feature_learning import tangent_kernel_alignment, weight_change
from ._pairwise import pairs_to_matrix, pairwise, select_pairs
from ._representations import linear_cka, procrustes_angle
from ._settings import DEFAULT_DSA_SCORES, LEVELS, DegeneracySettings
from ._weights_distance import pairwise_permutation_distances

#: the value of each setting added since results were first stored, for older stores
_SETTING_DEFAULTS = {"whiten": False, "variance_threshold": None, "dsa_scores": list(DEFAULT_DSA_SCORES)}


def degeneracy(
    store,
    *,
    settings: DegeneracySettings | None = None,
    members_per_chunk: int = 16,
    selection: dict | None = None,
    seed: int = 0,
    progress: bool = True,
    figures: str | pathlib.Path | None = None,
    color_by: str | None = None,
    replace: bool = False,
    **keywords,
) -> xr.Dataset:
    """How differently the networks of a sweep solve their task, at every level.

    Per member (in chunks of `members_per_chunk`): the DMD operator of its stored
    trajectories (`fit_dmd`: delay embedding, rank `rank`, whitened if `whiten`), its
    effective recurrent matrix, its hidden states on the evaluation batch, its loss on
    the task's out-of-distribution variant, ‖W_T − W_0‖_F and the tangent-kernel
    alignment before/after training on `n_probe_trials` probe trials. Then, over pairs of members (within a condition by
    default — a condition is a combination of the hyperparameters in `condition_by`,
    default every hyperparameter but the seed — capped at `max_pairs`): the DSA scores
    named in `dsa_scores` (any of `DSA_SCORES`; stored as `dsa_<score>`; by default
    distance, angle and spectral); permutation-invariant weight distance (raw and ‖·‖_F/n;
    equal widths only); linear CKA and angular Procrustes distance; output distance.
    Results are written as the `degeneracy` analysis: `(member, member_)` matrices,
    per-condition means, σ_OOD per condition (docs/studies/degeneracy.md).

    DSA conventions: the default (`whiten=False`, `dsa_distance`) is the metric of
    docs/studies/degeneracy.md on unwhitened operators; the reference code's (`dsa-metric`) is `whiten=True`
    with `dsa_scores=("angle", "euclidean", "wasserstein")`. With
    `rank="explained_variance"` each member's rank is `explained_variance_rank` of its
    trajectories at `variance_threshold`, stored as `dsa_rank(member)`, and every operator
    is fitted at the largest of them (capped at the smallest embedding), stored as the
    attribute `dsa_rank`, so that all operators, and conditions, compare at one rank.

    Stored results are merged by level: running some `levels` again (same members and
    other settings) replaces those levels' variables and keeps the others'; results for
    other members or settings are refused before any work unless `replace=True`.

    **Arguments:** `settings` (a `DegeneracySettings`: levels, conditions, pairs, DSA,
    restarts and trial counts; its fields may also be given as keywords, e.g.
    `levels=["dynamics"], rank=6`, which replace those fields), `members_per_chunk`,
    `selection`, `seed`, `figures` (a folder of figures, coloured by the hyperparameter
    `color_by`), `replace`.

    **Returns:** the Dataset written.
    """
    chosen = resolve("degeneracy", DegeneracySettings, settings, keywords)
    levels, condition_by, variance_threshold = chosen.levels, chosen.condition_by, chosen.variance_threshold
    rank, n_delays, delay_interval = chosen.rank, chosen.n_delays, chosen.delay_interval
    dsa_scores, dsa_restarts, perm_restarts = chosen.dsa_scores, chosen.dsa_restarts, chosen.perm_restarts
    n_ood_trials, n_probe_trials = chosen.n_ood_trials, chosen.n_probe_trials
    sweep = store if isinstance(store, SweepStore) else open_sweep(store)
    table = sweep.members
    hyper = [c for c in table.coords if c not in ("member", "seed")]
    if condition_by is None:
        condition_by = hyper
    for name in condition_by:
        if name not in table.coords:
            raise ValueError(
                f"degeneracy: condition_by names {name!r}, which is not a hyperparameter of this "
                f"sweep; its hyperparameters are {hyper}.{_checks.closest(name, hyper)}"
            )
    if color_by is not None and color_by not in table.coords:
        options = [c for c in table.coords if c != "member"]
        raise ValueError(
            f"degeneracy: color_by={color_by!r} is not a hyperparameter of this sweep; its "
            f"hyperparameters are {options}.{_checks.closest(color_by, options)}"
        )
    settings = chosen.stored(condition_by, seed)
    previous = _stored_for_merge(sweep, selection, settings, replace)
    per = {"operator": [], "weights": [], "states": [], "outputs": [], "ood": [], "change": [], "alignment": [], "rank": []}
    fit = chosen.fit()
    order = []

    def collect(chunk: Chunk) -> xr.Dataset:
        k = len(chunk.members)
        states = np.asarray(chunk.data["states"].values)  # [member, trial, time, state]
        outputs = np.asarray(chunk.data["outputs"].values)
        template = jax.tree_util.tree_map(lambda x: x[0] if eqx.is_array(x) else x, chunk.models)
        hidden = jax.vmap(jax.vmap(jax.vmap(template.hidden)))(jnp.asarray(states)) if states.ndim == 4 else states
        order.extend(int(m) for m in chunk.members)
        if "dynamics" in levels and isinstance(rank, str):
            s = jax.vmap(lambda x: embedding_singular_values(x, n_delays, delay_interval))(jnp.asarray(hidden))
            per["rank"].extend(rank_from_singular_values(v, variance_threshold) for v in np.asarray(s))
        elif "dynamics" in levels:
            ops = jax.vmap(lambda x: fit_dmd(x, rank=rank, **fit))(hidden)
            per["operator"].extend(np.asarray(ops))
        if "weights" in levels:
            w = eqx.filter_vmap(lambda m: m.recurrent_weights())(chunk.models)
            per["weights"].extend(np.asarray(w))
        per["states"].extend(np.asarray(hidden))
        per["outputs"].extend(outputs)
        keys = jr.split(chunk.key, 2)
        if "behaviour" in levels:
            ood = chunk.task.ood()
            trials = ood.sample_batch(n_ood_trials, key=keys[0])

            def loss(model):
                out = jax.vmap(lambda x: model(x).output)(trials.inputs)
                return ood.batch_loss(out, trials, key=jr.fold_in(keys[0], 1))

            per["ood"].extend(np.asarray(eqx.filter_vmap(loss)(chunk.models)))
        if "feature_learning" in levels:
            from .._over_members import stacked_models

            initial = stacked_models(template, chunk.data, which="init")
            change = eqx.filter_vmap(lambda a, b: weight_change(a.recurrent_weights(), b.recurrent_weights()))(chunk.models, initial)
            per["change"].extend(np.asarray(change))
            probe = chunk.task.sample_batch(n_probe_trials, key=keys[1]).inputs
            align = [
                float(tangent_kernel_alignment(_index(initial, i), _index(chunk.models, i), probe))
                for i in range(k)
            ]
            per["alignment"].extend(align)
        return xr.Dataset({"done": ("member", np.ones(k, bool))})

    run_over_members(sweep, "degeneracy_inputs", collect, members_per_chunk=members_per_chunk,
                     selection=selection, seed=seed, progress=progress, write=False)
    members = np.asarray(order)
    used_rank = None
    if "dynamics" in levels and isinstance(rank, str):
        used_rank = _common_rank(per["rank"], per["states"], n_delays, delay_interval)
        per["operator"] = _fit_all(per["states"], used_rank, fit, members_per_chunk)
    rows = [int(np.nonzero(np.asarray(table["member"].values) == m)[0][0]) for m in members]
    conditions = [
        tuple(_plain(np.asarray(table[c].values)[r]) for c in condition_by) for r in rows
    ] if condition_by else None
    labels = [", ".join(f"{c}={v}" for c, v in zip(condition_by, cond)) for cond in conditions] if conditions else None
    key = jr.key(seed)
    pairs = select_pairs(labels, n_members=len(members), within_condition=chosen.within_condition, max_pairs=chosen.max_pairs, key=key)
    n = len(members)
    matrices = {}
    if len(pairs):
        if "dynamics" in levels:
            ops = jnp.asarray(np.stack(per["operator"]))
            scores = pairwise_dsa(ops, jnp.asarray(pairs), key=jr.fold_in(key, 1), n_restarts=dsa_restarts)
            for name in dsa_scores:
                matrices[f"dsa_{name}"] = pairs_to_matrix(np.asarray(getattr(scores, name)), pairs, n)
        if "weights" in levels:
            same = [p for p in pairs if per["weights"][p[0]].shape == per["weights"][p[1]].shape]
            same = np.asarray(same, dtype=np.int64).reshape(-1, 2)
            if len(same):
                raw, normed = pairwise_permutation_distances(
                    [per["weights"][i] for i in range(n)], same, n_restarts=perm_restarts,
                    solver=chosen.resolved_perm_solver(),
                    key=jr.fold_in(key, 2), progress=progress,
                )
                matrices["weight_distance"] = pairs_to_matrix(raw, same, n, diagonal=0.0)
                matrices["weight_distance_normalised"] = pairs_to_matrix(normed, same, n, diagonal=0.0)
        if "representations" in levels:
            reps = [s.reshape(-1, s.shape[-1]) for s in per["states"]]
            same, (cka, ang) = _pairwise_same_shape((linear_cka, procrustes_angle), reps, pairs)
            if len(same):
                matrices["cka"] = pairs_to_matrix(cka, same, n, diagonal=1.0)
                matrices["procrustes_angle"] = pairs_to_matrix(ang, same, n)
        if "behaviour" in levels:
            same, (od,) = _pairwise_same_shape((output_distance,), per["outputs"], pairs)
            if len(same):
                matrices["output_distance"] = pairs_to_matrix(od, same, n)
    per_member = {}
    if "feature_learning" in levels:
        per_member = {"weight_change": per["change"], "kernel_alignment": per["alignment"]}
    if used_rank is not None:
        per_member["dsa_rank"] = per["rank"]
    member_coords = {c: [_plain(np.asarray(table[c].values)[r]) for r in rows] for c in table.coords if c != "member"}
    ds = degeneracy_to_dataset(
        matrices, conditions=labels, members=members, member_coords=member_coords,
        per_member=per_member, ood_loss=per["ood"] if "behaviour" in levels else None, settings=settings,
    )
    for name in ds.data_vars:
        ds[name].attrs["level"] = level_of(str(name))
    for name in member_coords:
        ds[name].attrs = {**table[name].attrs, **ds[name].attrs}
    if used_rank is not None:
        ds.attrs["dsa_rank"] = used_rank
    if previous is not None:
        ds = _merge_levels(previous, ds, levels)
    write_dataset(sweep.path, "analyses/degeneracy", ds, replace=True)
    if figures is not None:
        _figures(pathlib.Path(figures), ds, list(matrices), color_by or (condition_by[0] if condition_by else None))
    return ds


#: the level each stored variable belongs to, by name (its `_mean`/`_n_pairs` too)
_LEVEL_OF = {
    **{f"dsa_{name}": "dynamics" for name in DSA_SCORES}, "dsa_rank": "dynamics",
    "weight_distance": "weights", "weight_distance_normalised": "weights",
    "cka": "representations", "procrustes_angle": "representations",
    "output_distance": "behaviour", "ood_loss": "behaviour", "sigma_ood": "behaviour",
    "weight_change": "feature_learning", "kernel_alignment": "feature_learning",
}


def level_of(name: str) -> str:
    """The degeneracy level of a stored variable (`dsa_distance_mean` -> "dynamics")."""
    for suffix in ("_mean", "_n_pairs", ""):
        base = name[: -len(suffix)] if suffix and name.endswith(suffix) else name
        if base in _LEVEL_OF:
            return _LEVEL_OF[base]
    return "other"


def _stored_for_merge(sweep, selection, settings, replace):
    """The stored degeneracy results to merge the new levels into (None: nothing to keep),
    or a clear refusal, before any work is done."""
    from .._over_members import select_members, stored_settings

    if replace or "degeneracy" not in sweep.analyses:
        return None
    old = sweep.analysis("degeneracy").load()
    old_settings = {k: v for k, v in {**_SETTING_DEFAULTS, **stored_settings(old.attrs)}.items() if k != "levels"}
    new_settings = {k: v for k, v in stored_settings({"settings": settings}).items() if k != "levels"}
    members = sorted(int(m) for m in select_members(sweep, selection))
    same_members = sorted(int(m) for m in np.asarray(old["member"].values)) == members
    if old_settings == new_settings and same_members:
        return old
    why = "other members" if not same_members else "other settings: " + ", ".join(
        f"{k}: {old_settings.get(k)!r} -> {new_settings.get(k)!r}"
        for k in sorted(set(old_settings) | set(new_settings)) if old_settings.get(k) != new_settings.get(k)
    )
    raise ValueError(
        f"{str(sweep.path)!r} already holds degeneracy results for {why}. Nothing was computed "
        "or changed. To replace them, pass replace=True (--replace); to keep both, copy the "
        "store first."
    )


def _merge_levels(old: xr.Dataset, new: xr.Dataset, levels) -> xr.Dataset:
    """`new`, plus the variables of `old` that belong to levels not run now."""
    keep = [v for v in old.data_vars if (old[v].attrs.get("level") or level_of(str(v))) not in levels and v not in new]
    merged = new.merge(old[keep], compat="override", join="left")
    settings = json.loads(new.attrs["settings"])
    old_levels = stored_levels(old)
    settings["levels"] = [lv for lv in LEVELS if lv in set(old_levels) | set(levels)]
    kept = {"dsa_rank": old.attrs["dsa_rank"]} if "dynamics" not in levels and "dsa_rank" in old.attrs else {}
    merged.attrs = {**kept, **new.attrs, "settings": json.dumps(settings, sort_keys=True, default=str)}
    return merged


def stored_levels(ds: xr.Dataset) -> list[str]:
    from .._over_members import stored_settings

    return list(stored_settings(ds.attrs).get("levels", []))


def _common_rank(ranks, states, n_delays, delay_interval) -> int:
    """The largest of the members' ranks, capped at the smallest embedding (n_delays · hidden)."""
    smallest = min(n_delays * np.shape(s)[-1] for s in states)
    return int(min(max(ranks), smallest))


def _fit_all(states, rank, fit, batch) -> list[np.ndarray]:
    """`fit_dmd` at one `rank` for every member's `[trial, time, hidden]` states, vmapped
    over up to `batch` members of one shape at a time."""
    out = [None] * len(states)
    shapes = [np.shape(s) for s in states]
    for shape in dict.fromkeys(shapes):
        ids = [i for i, sh in enumerate(shapes) if sh == shape]
        for start in range(0, len(ids), batch):
            part = ids[start : start + batch]
            ops = jax.vmap(lambda x: fit_dmd(x, rank=rank, **fit))(jnp.asarray(np.stack([states[i] for i in part])))
            for i, op in zip(part, np.asarray(ops)):
                out[i] = op
    return out


def _pairwise_same_shape(fns, arrays, pairs):
    """Each `fn` over the pairs whose two arrays have equal shapes, one stacked `pairwise`
    call per shape (members of different widths or output sizes are never stacked
    together). Returns the pairs kept and one value array per `fn`, in that order."""
    shapes = [np.shape(a) for a in arrays]
    keep = np.asarray([p for p in pairs if shapes[p[0]] == shapes[p[1]]], dtype=np.int64).reshape(-1, 2)
    values = [np.empty(len(keep)) for _ in fns]
    for shape in dict.fromkeys(shapes[i] for i in keep[:, 0]):
        rows = np.flatnonzero([shapes[i] == shape for i in keep[:, 0]])
        ids = np.unique(keep[rows])
        local = np.searchsorted(ids, keep[rows])
        stacked = jnp.asarray(np.stack([arrays[i] for i in ids]))
        for out, fn in zip(values, fns):
            out[rows] = np.asarray(pairwise(fn, stacked, jnp.asarray(local)))
    return keep, values


def _index(tree, i):
    return jax.tree_util.tree_map(lambda x: x[i] if eqx.is_array(x) else x, tree)


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v


def _figures(folder: pathlib.Path, ds: xr.Dataset, names: list[str], color_by):
    import matplotlib.pyplot as plt

    from ._plots import plot_degeneracy

    folder.mkdir(parents=True, exist_ok=True)
    if not names:
        return
    fig = plot_degeneracy(ds, names, color_by=color_by)
    fig.savefig(folder / "degeneracy.png", dpi=110)
    plt.close(fig)
