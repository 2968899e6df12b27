"""Degeneracy results as one xarray Dataset in the store's vocabulary.

Pairwise matrices have dims `(member, member_)`; per-member values have `member`;
per-condition summaries (mean pairwise distance within a condition, σ_OOD, means of the
per-member values) have `condition`. Hyperparameters ride along as coordinates on
`member`, and each member's condition is the coordinate `member_condition`, an index
into `condition`.
"""

import json
from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from neurodyn._version import __version__

from ._behaviour import sigma_ood
from ._pairwise import condition_codes

#: what each pairwise matrix or per-member value is, the `long_name` of its variables
LONG_NAMES = {
    "dsa_distance": "DSA distance min_C ||A_x - C A_y C^T||_F between the fitted operators",
    "dsa_angle": "DSA angle arccos <A_x, C A_y C^T>_F of the unit-norm operators (radians)",
    "dsa_euclidean": "DSA euclidean distance ||A_x - C A_y C^T||_F of the unit-norm operators",
    "dsa_spectral": "mean |lambda - mu| over optimally matched operator eigenvalues",
    "dsa_wasserstein": "mean |lambda - mu|^2 over optimally matched operator eigenvalues",
    "dsa_rank": "rank of the member's DMD operator",
    "weight_distance": "permutation-invariant distance min_P ||W1 - P^T W2 P||_F of the recurrent weights",
    "weight_distance_normalised": "permutation-invariant weight distance divided by the width n",
    "cka": "linear CKA of the hidden states on the evaluation batch",
    "procrustes_angle": "angular Procrustes distance of the hidden states (radians)",
    "output_distance": "root-mean-square distance of the outputs on the evaluation batch",
    "ood_loss": "loss on the task's out-of-distribution variant",
    "weight_change": "weight change ||W_T - W_0||_F of the recurrent weights",
    "kernel_alignment": "tangent-kernel alignment A(K_0, K_T) on the probe batch",
}
_UNITS = {"dsa_angle": "rad", "procrustes_angle": "rad", "dsa_rank": "1", "cka": "1", "kernel_alignment": "1"}


def _attrs(name: str, *, suffix: str = "") -> dict:
    what = LONG_NAMES.get(name, name.replace("_", " "))
    if suffix == "_mean":
        what = f"mean within each condition of the {what}"
    elif suffix == "_n_pairs":
        what = f"member pairs within each condition that the mean {what} is over"
    units = "1" if suffix == "_n_pairs" else _UNITS.get(name)
    return {"long_name": what, **({"units": units} if units else {})}


def _label(c) -> str:
    if isinstance(c, tuple):
        return ", ".join(str(x) for x in c)
    return str(c)


def _group_means(values: np.ndarray, groups: np.ndarray, n_groups: int):
    """Mean of the finite values of each group (NaN for none) and how many there were."""
    keep = np.isfinite(values)
    count = np.bincount(groups[keep], minlength=n_groups)
    total = np.bincount(groups[keep], weights=values[keep], minlength=n_groups)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan), count


def within_condition_means(matrix: np.ndarray, codes: np.ndarray, n_conditions: int):
    """Per condition, the mean of the finite entries above the diagonal whose two members
    share that condition, and how many entries the mean is over."""
    i, j = np.triu_indices(len(codes), k=1)
    same = codes[i] == codes[j]
    return _group_means(matrix[i[same], j[same]], codes[i[same]], n_conditions)


def degeneracy_to_dataset(
    matrices: Mapping[str, np.ndarray],
    *,
    conditions: Sequence | None = None,
    members: Sequence | None = None,
    member_coords: Mapping[str, Sequence] | None = None,
    per_member: Mapping[str, Sequence] | None = None,
    ood_loss: Sequence | None = None,
    settings: Mapping | None = None,
) -> xr.Dataset:
    """Collect degeneracy results into a Dataset ready to be written into a sweep's store.

    **Arguments:**

    - `matrices`: name → `[member, member_]` pairwise matrix (e.g. from
      `pairs_to_matrix`; NaN where a pair was not computed), such as `dsa_distance`,
      `dsa_angle`, `dsa_spectral`, `weight_distance`, `weight_distance_normalised`,
      `output_distance`, `cka`, `procrustes_angle`.
    - `conditions`: one label per member (None: one condition for all).
    - `members`: member ids (default 0, 1, …), the `member` and `member_` coordinates.
    - `member_coords`: hyperparameters, name → one value per member.
    - `per_member`: name → one value per member (e.g. `weight_change`,
      `kernel_alignment`).
    - `ood_loss`: each member's out-of-distribution loss; adds `ood_loss(member)` and
      `sigma_ood(condition)`.
    - `settings`: the analysis settings, stored as JSON in the `settings` attribute.

    **Returns:** a Dataset with, for each matrix `name`, `name(member, member_)`,
    `name_mean(condition)` and `name_n_pairs(condition)` (the pairs above the diagonal
    within the condition that the mean is over); for each per-member value `name`,
    `name(member)` and `name_mean(condition)`; attributes `analysis`, `settings` and
    `neurodyn_version`.
    """
    per_member = dict(per_member or {})
    if ood_loss is not None:
        per_member["ood_loss"] = ood_loss
    sizes = {np.shape(m)[0] for m in matrices.values()} | {len(v) for v in per_member.values()}
    if members is not None:
        sizes.add(len(members))
    if conditions is not None:
        sizes.add(len(conditions))
    if len(sizes) != 1:
        raise ValueError(
            f"degeneracy_to_dataset: every input must have one entry per member, got member "
            f"counts {sorted(sizes)} across matrices, per_member, members and conditions."
        )
    (n,) = sizes
    for name, m in matrices.items():
        if np.shape(m) != (n, n):
            raise ValueError(
                f"degeneracy_to_dataset: matrix {name!r} must be [member, member_] = ({n}, {n}), "
                f"got {np.shape(m)}."
            )
    labels, codes = condition_codes(conditions if conditions is not None else [0] * n)
    members = np.arange(n) if members is None else np.asarray(members)

    data = {}
    for name, m in matrices.items():
        m = np.asarray(m, dtype=float)
        mean, count = within_condition_means(m, codes, len(labels))
        data[name] = (("member", "member_"), m, _attrs(name))
        data[f"{name}_mean"] = ("condition", mean, _attrs(name, suffix="_mean"))
        data[f"{name}_n_pairs"] = ("condition", count, _attrs(name, suffix="_n_pairs"))
    for name, v in per_member.items():
        v = np.asarray(v, dtype=float)
        data[name] = ("member", v, _attrs(name))
        data[f"{name}_mean"] = ("condition", _group_means(v, codes, len(labels))[0], _attrs(name, suffix="_mean"))
    if ood_loss is not None:
        data["sigma_ood"] = (
            "condition",
            sigma_ood(np.asarray(ood_loss, dtype=float), codes)[1],
            {"long_name": "sigma_OOD: standard deviation over the condition's members of the OOD loss"},
        )

    coords = {
        "member": members,  # the store's own name for it (`neurodyn.store._cf`)
        "member_": ("member_", members, {"long_name": "member id, the second member of a pair"}),
        "condition": ("condition", np.array([_label(c) for c in labels]),
                      {"long_name": "condition: the values of the condition_by hyperparameters"}),
        "member_condition": ("member", codes, {"long_name": "the member's condition (index into condition)"}),
    }
    for name, values in (member_coords or {}).items():
        coords[name] = ("member", np.asarray(values))
    attrs = {
        "analysis": "degeneracy",
        "settings": json.dumps(dict(settings or {}), sort_keys=True, default=str),
        "neurodyn_version": __version__,
    }
    return xr.Dataset(data, coords=coords, attrs=attrs)
