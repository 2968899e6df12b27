"""FixedPoints <-> xarray.Dataset, in the store's vocabulary."""

import numpy as np
import xarray as xr

from neurodyn._version import __version__

from ._points import CANDIDATE_STATUS, STABILITY, FixedPoints

# Per-point variables: (dataset name, FixedPoints field, trailing dims).
_FIELDS = (
    ("points", "points", ("fp", "state")),
    ("valid", "valid", ("fp",)),
    ("q", "q", ("fp",)),
    ("slow", "slow", ("fp",)),
    ("n_unstable", "n_unstable", ("fp",)),
    ("stability", "stability", ("fp",)),
    ("unstable_vector", "unstable_vector", ("fp", "state")),
    ("u", "u", ("input",)),
    ("candidate_status", "candidate_status", ("candidate",)),
    ("candidate_q", "candidate_q", ("candidate",)),
    ("candidate_fp", "candidate_fp", ("candidate",)),
)
_FLAGS = {"stability": STABILITY, "candidate_status": CANDIDATE_STATUS}
_DESCRIPTIONS = {
    "points": "unique fixed and slow points (NaN in unused slots)",
    "valid": "slot holds a point",
    "n_points": "number of valid points",
    "q": "q = 0.5 |F(h)|^2 at the point",
    "slow": "slow point (q above tol_q) rather than a fixed point",
    "n_unstable": "number of unstable modes (-1 in unused slots)",
    "stability": "0 stable, 1 saddle, 2 unstable (-1 in unused slots)",
    "unstable_vector": "unit eigenvector of the one unstable mode of one-mode saddles",
    "has_unstable_vector": "unstable_vector is set (a saddle with one unstable mode)",
    "eigenvalues_real": "real part of the eigenvalues, most unstable first",
    "eigenvalues_imag": "imaginary part of the eigenvalues",
    "attractor_plus": "fp index of the attractor reached along +unstable_vector (-1: none)",
    "attractor_minus": "fp index of the attractor reached along -unstable_vector (-1: none)",
    "u": "constant input",
    "candidate_status": "0 converged, 1 slow, 2 failed, 3 outlier",
    "candidate_q": "final q of each initial state",
    "candidate_fp": "fp index each initial state was merged into (-1: none)",
}


def fixed_points_to_dataset(
    fixed_points: FixedPoints, *, lead_dims: tuple[str, ...] | None = None
) -> xr.Dataset:
    """A `FixedPoints` as an `xarray.Dataset` with the store's dimension names.

    Dimensions: the leading axes (`member` by default), `fp`, `state`, `eig`, `input`,
    `candidate`. Eigenvalues are stored as `eigenvalues_real` / `eigenvalues_imag`;
    integers keep -1 and booleans False in unused slots (no float NaN fill); `n_points` is
    the number of valid points per model; the saddle–attractor graph is
    `attractor_plus` / `attractor_minus`. Attributes hold the search settings, the model
    kind and the neurodyn version. `fixed_points_from_dataset` inverts this.

    **Arguments:**

    - `lead_dims`: names of the leading axes; default `("member",)` for one leading
      axis, `()` for none. Results over several inputs need a name for that axis too,
      e.g. `("member", "condition")`.
    """
    n_lead = np.ndim(fixed_points.valid) - 1
    if lead_dims is None:
        if n_lead > 1:
            raise ValueError(
                f"fixed_points_to_dataset: the result has {n_lead} leading axes "
                f"{fixed_points.batch_shape}; name them, e.g. lead_dims=('member', 'condition')."
            )
        lead_dims = ("member",) if n_lead == 1 else ()
    lead_dims = tuple(lead_dims)
    if len(lead_dims) != n_lead:
        raise ValueError(
            f"fixed_points_to_dataset: lead_dims={lead_dims} names {len(lead_dims)} axes but "
            f"the result has {n_lead} leading axes of shape {fixed_points.batch_shape}."
        )
    data = {}
    for name, field, dims in _FIELDS:
        data[name] = (lead_dims + dims, np.asarray(getattr(fixed_points, field)))
    eig = np.asarray(fixed_points.eigenvalues)
    data["eigenvalues_real"] = (lead_dims + ("fp", "eig"), eig.real)
    data["eigenvalues_imag"] = (lead_dims + ("fp", "eig"), eig.imag)
    attractors = np.asarray(fixed_points.attractors)
    data["attractor_plus"] = (lead_dims + ("fp",), attractors[..., 0])
    data["attractor_minus"] = (lead_dims + ("fp",), attractors[..., 1])
    data["has_unstable_vector"] = (
        lead_dims + ("fp",),
        np.asarray(fixed_points.has_unstable_vector),
    )
    data["n_points"] = (lead_dims, np.asarray(fixed_points.valid).sum(-1).astype(np.int32))
    ds = xr.Dataset(data)
    for name, var in ds.data_vars.items():
        var.attrs["description"] = _DESCRIPTIONS[name]
        if name in _FLAGS:
            var.attrs["flag_values"] = list(_FLAGS[name])
            var.attrs["flag_meanings"] = " ".join(_FLAGS[name].values())
    ds.attrs = {
        "analysis": "fixed_points",
        "continuous": bool(fixed_points.continuous),
        "settings": {k: v for k, v in fixed_points.settings},
        "neurodyn_version": __version__,
    }
    return ds


def fixed_points_from_dataset(ds: xr.Dataset) -> FixedPoints:
    """The `FixedPoints` stored by `fixed_points_to_dataset` (numpy arrays, dtypes kept).

    Leading dimensions (e.g. `member`) become leading axes, in the dataset's order;
    select first (`ds.isel(member=3)`) for one model.
    """
    missing = [n for n in ("points", "valid", "eigenvalues_real") if n not in ds]
    if missing or ds.attrs.get("analysis") != "fixed_points":
        raise ValueError(
            f"fixed_points_from_dataset: this is not a fixed_points dataset (missing "
            f"{missing or 'the attribute analysis=fixed_points'}); it has variables "
            f"{sorted(ds.data_vars)[:8]}."
        )
    lead = tuple(d for d in ds["valid"].dims if d != "fp")

    def get(name, dims):
        return np.asarray(ds[name].transpose(*lead, *dims).values)

    fields = {field: get(name, dims) for name, field, dims in _FIELDS}
    real = get("eigenvalues_real", ("fp", "eig"))
    imag = get("eigenvalues_imag", ("fp", "eig"))
    eigenvalues = real + 1j * imag.astype(real.dtype)
    eigenvalues = eigenvalues.astype(np.result_type(real.dtype, np.complex64))
    attractors = np.stack([get("attractor_plus", ("fp",)), get("attractor_minus", ("fp",))], -1)
    settings = tuple(ds.attrs.get("settings", {}).items())
    return FixedPoints(
        eigenvalues=eigenvalues,
        attractors=attractors,
        continuous=bool(ds.attrs["continuous"]),
        settings=settings,
        **fields,
    )
