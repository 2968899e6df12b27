"""`open_sweep`: read a sweep's store back as tables, datasets, models and simulations."""

import json

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import xarray as xr

from .. import _checks
from ._groups import read_group
from ._members import read_members
from ._store import open_store


class SweepStore:
    """A sweep's store opened for reading.

    - `.members`: the members table (hyperparameters are coordinates on `member`).
    - `.group(name)`: one group's Dataset, lazily loaded (dask).
    - `.select(**values)`: member indices whose hyperparameters equal `values`.
    - `.trajectories(**values)`: evaluation-batch states and outputs of those members.
    - `.model(member)`: the trained Equinox model, rebuilt from stored parameters.
    - `.simulate(member, inputs=... | task=...)`: re-run a stored model on chosen trials.
    - `.analyses` / `.analysis(name)`: results that analyses wrote into the store.

    A store may be opened while a sweep is still writing it; unwritten members read
    as NaN and have status "pending". Opening checks every done region against its
    marker (chunk counts and sizes, `verify=False` to skip); members of a region whose
    files changed since (a deleted or truncated chunk) have status "damaged", are listed
    in `.damaged`, and are refused by `.model` and by the analyses until `--resume`
    trains them again.
    """

    def __init__(self, path, *, verify: bool = True):
        self._store = open_store(path)
        self.path = self._store.path
        #: damaged regions found when the store was opened: group -> region -> problems
        self.damaged: dict[str, dict[str, list[str]]] = self._store.damaged() if verify else {}

    def damaged_members(self) -> np.ndarray:
        """Ids of the members whose region is damaged (see `.damaged`)."""
        if not self.damaged:
            return np.zeros(0, dtype=np.int64)
        table = read_members(self.path)
        groups = np.array([str(x) for x in table["group"].values.tolist()])
        regions = np.array([str(x) for x in table["region"].values.tolist()])
        hit = np.zeros(len(groups), dtype=bool)
        for group, bad in self.damaged.items():
            hit |= (groups == group) & np.isin(regions, list(bad))
        return np.asarray(table["member"].values)[hit]

    def damage_error(self, members) -> ValueError | None:
        """The error for using damaged members, or None when none of `members` is."""
        bad = sorted(set(int(m) for m in members) & set(self.damaged_members().tolist()))
        if not bad:
            return None
        where = "; ".join(
            f"{g}/{r}: {', '.join(p[:2])}" for g, regions in self.damaged.items() for r, p in regions.items()
        )
        return ValueError(
            f"member(s) {bad[:10]}{' …' if len(bad) > 10 else ''} of {str(self.path)!r} are in "
            f"damaged regions ({where}). Train them again with `neurodyn sweep SPEC --out "
            f"{self.path} --resume`; `neurodyn verify {self.path}` checks every chunk."
        )

    def __repr__(self):
        m = self.members
        status = {s: int((m["status"] == s).sum()) for s in np.unique(np.asarray(m["status"].values))}
        return f"SweepStore({str(self.path)!r}, members={m.sizes['member']}, groups={self.groups}, status={status})"

    def _repr_html_(self) -> str:
        """The members table and the store's state, as `neurodyn.report` shows them."""
        from ._html import summary_html

        return summary_html(self)

    @property
    def attrs(self) -> dict:
        return self._store.attrs

    @property
    def spec(self):
        from ..spec import SweepSpec

        return SweepSpec.from_dict(self.attrs["spec"])

    @property
    def complete(self) -> bool:
        return bool(self._store.complete)

    @property
    def members(self) -> xr.Dataset:
        """The members table; members of damaged regions have status "damaged"."""
        table = read_members(self.path)
        bad = self.damaged_members()
        if len(bad):
            status = [str(x) for x in table["status"].values.tolist()]
            hit = np.isin(np.asarray(table["member"].values), bad)
            status = ["damaged" if h else s for s, h in zip(status, hit)]
            table["status"] = ("member", np.asarray(status, dtype=str))
        return table

    @property
    def groups(self) -> list[str]:
        return list(self._store.groups)

    @property
    def analyses(self) -> list[str]:
        """Names of the analyses stored (each kept as one Dataset per group)."""
        names = []
        for child in self._store.analyses:
            base = child.split(".", 1)[0]
            if base not in names:
                names.append(base)
        return names

    def group(self, name: str, *, chunks="auto") -> xr.Dataset:
        """One group's Dataset, loaded lazily (`chunks=None` reads eagerly)."""
        if name not in self.groups:
            raise KeyError(f"store {str(self.path)!r} has no group {name!r}; groups: {self.groups}.{_checks.closest(name, self.groups)}")
        return read_group(self.path, name, chunks=chunks if chunks != "auto" else {})

    def analysis(self, name: str, *, group: str | None = None, chunks=None) -> xr.Dataset:
        """An analysis's results: one group's, or every group's joined along `member`.

        Groups that differ in sizes are joined with padding (NaN for floats, -1 for
        integers, False for booleans).
        """
        if name not in self.analyses:
            flags = {"fixed_points": "--fixed-points", "timescales": "--timescales", "degeneracy": "--degeneracy",
                     "hmm_mechanism": "--hmm-mechanism"}
            hint = _checks.closest(name, list(self.analyses) or list(flags))
            run = f" Run it with `neurodyn analyze {self.path} {flags[name]}`." if name in flags else (
                f" Analyses neurodyn writes: {list(flags)}.")
            raise KeyError(
                f"store {str(self.path)!r} holds no {name!r} analysis; it holds {self.analyses}.{hint}{run}"
            )
        children = [c for c in self._store.analyses if c == name or c.startswith(name + ".")]
        if group is not None:
            children = [c for c in children if c == f"{name}.{group}"]
            if not children:
                raise KeyError(f"the {name!r} analysis has no results for group {group!r}.")
        parts = [read_group(self.path, f"analyses/{c}", chunks=chunks) for c in children]
        if len(parts) == 1:
            return parts[0]
        # dims without coordinates (fp, state, eig, ...) get positions, so groups of
        # different sizes align by position and the shorter ones are padded
        indexed = []
        for part in parts:
            missing = {d: np.arange(n) for d, n in part.sizes.items() if d != "member" and d not in part.coords}
            indexed.append(part.assign_coords(missing))
        parts = indexed
        fills = {}
        for part in parts:
            for var, arr in part.data_vars.items():
                kind = arr.dtype.kind
                fills[var] = -1 if kind in "iu" else (False if kind == "b" else np.nan)
        merged = xr.concat(parts, dim="member", join="outer", fill_value=fills, combine_attrs="drop_conflicts")
        return merged.sortby("member")

    # -- selection ----------------------------------------------------------------------
    def select(self, **values) -> np.ndarray:
        """Indices of the members whose hyperparameters equal `values` (floats by isclose)."""
        table = self.members
        mask = np.ones(table.sizes["member"], dtype=bool)
        names = [c for c in table.coords if c != "member"]
        for name, value in values.items():
            if name not in table.coords:
                raise KeyError(
                    f"no hyperparameter {name!r} in this sweep; its hyperparameters are {names}."
                    f"{_checks.closest(name, names)}"
                )
            column = np.asarray(table[name].values)
            wanted = np.atleast_1d(value)
            if column.dtype.kind == "f":
                hit = np.zeros_like(mask)
                for w in wanted:
                    hit |= np.isclose(column, float(w), rtol=1e-9, atol=0.0)
            else:
                hit = np.isin(column.astype(str) if column.dtype.kind in "UTO" else column, wanted.astype(column.dtype) if column.dtype.kind not in "UTO" else wanted.astype(str))
            mask &= hit
        found = np.nonzero(mask)[0]
        if len(found) == 0:
            raise KeyError(f"no member has {values}; see `.members` for the values present.")
        return np.asarray(table["member"].values)[found]

    def _locate(self, member: int) -> tuple[str, int]:
        table = self.members
        ids = np.asarray(table["member"].values)
        if member not in ids:
            raise KeyError(f"member {member} is not in this store (members 0–{len(ids) - 1}).")
        group = str(table["group"].values[int(np.nonzero(ids == member)[0][0])])
        ds = self.group(group)
        pos = int(np.nonzero(np.asarray(ds["member"].values) == member)[0][0])
        return group, pos

    def trajectories(self, *, pad: bool = False, **values) -> xr.Dataset:
        """States and outputs on the evaluation batch for the members matching `values`.

        Members of one group come back as one Dataset; members of several groups are
        concatenated along `member` when their shapes agree. Groups whose shapes differ
        (e.g. two `hidden_size`s) are refused, naming them, unless `pad=True` joins them
        with NaN padding (positions along `state`, `time`, ... then index the arrays).
        """
        members = self.select(**values)
        table = self.members.set_index(member="member") if "member" in self.members.dims else self.members
        parts = []
        groups = {}
        for m in members:
            g = str(table["group"].sel(member=m).values)
            groups.setdefault(g, []).append(int(m))
        keep = ["states", "outputs", "inputs", "targets", "mask"]
        for g, ids in groups.items():
            ds = self.group(g)
            sub = ds[[k for k in keep if k in ds]].sel(member=ids)
            parts.append(sub)
        if len(parts) == 1:
            out = parts[0]
        else:
            shapes = {g: {d: n for d, n in p.sizes.items() if d != "member"} for g, p in zip(groups, parts)}
            if len({tuple(sorted(v.items())) for v in shapes.values()}) > 1 and not pad:
                described = "; ".join(f"{g}: {v}" for g, v in shapes.items())
                raise ValueError(
                    f"trajectories({values}): the members come from groups of different shapes "
                    f"({described}). Select members of one shape (e.g. add hidden_size=...), or pass "
                    "pad=True to join them with NaN padding."
                )
            if pad:
                parts = [p.assign_coords({d: np.arange(n) for d, n in p.sizes.items() if d != "member" and d not in p.coords}) for p in parts]
            out = xr.concat(parts, dim="member", data_vars="all", coords="minimal", join="outer")
        for name in table.coords:
            if name != "member":
                out = out.assign_coords({name: ("member", table[name].sel(member=out["member"].values).values)})
        return out

    # -- models ---------------------------------------------------------------------------
    def _member_params(self, member: int) -> dict:
        table = read_members(self.path)
        ids = np.asarray(table["member"].values)
        if isinstance(member, bool) or not isinstance(member, (int, np.integer)) or member not in ids:
            raise KeyError(
                f"member {member!r} is not in {str(self.path)!r}: its members are "
                f"{ids.min() if len(ids) else '-'}–{ids.max() if len(ids) else '-'} ({len(ids)} in all)."
            )
        row = int(np.nonzero(ids == member)[0][0])
        return json.loads(str(table["params"].values[row]))

    def recipe(self, member: int):
        """The member's recipe (`neurodyn.spec.Recipe`), read from the members table."""
        from ..spec._recipe import Recipe

        return Recipe.from_params(self._member_params(member))

    def task(self, member: int):
        """The member's task, rebuilt from its recipe (once per distinct task)."""
        return self.recipe(member).build_task()

    def template(self, member: int):
        """A model of the member's structure (placeholder numbers) and its task: what
        `model` fills with stored parameters, and what analyses stack over members.
        Members of one structure share one template."""
        return self.recipe(member).template()

    def model(self, member: int, *, which: str = "final"):
        """The member's model with its stored parameters: `final` (where training
        stopped), `init`, or `best` (the evaluation with the lowest held-out loss among
        the parameter snapshots and the final ones; see `best_parameters`)."""
        _checks.choice("SweepStore.model", "which", which, WHICH)
        self._member_params(member)  # an unknown member is named before anything else
        error = self.damage_error([member])
        if error is not None:
            raise error
        template, _ = self.template(member)
        group, pos = self._locate(member)
        ds = self.group(group).isel(member=pos)
        prefix = ("final" if which == "best" else which) + "_"
        for var in ds.data_vars:
            value = np.asarray(ds[var].values) if var.startswith(prefix) else None
            if value is not None and np.issubdtype(value.dtype, np.floating) and value.size and np.isnan(value).all():
                raise ValueError(f"member {member} has not been trained yet (its parameters are unwritten).")
        return with_parameters(template, ds, which=which)

    def simulate(self, member: int, inputs=None, *, task=None, n_trials: int = 8, key=None, noise: bool = False):
        """Run a stored model on `inputs` `[trial, time, input]` (or trials of `task`).

        Without inputs, `n_trials` trials of `task` (default: the member's own task) are
        drawn with `key`. Returns `(trials or None, Trajectory with a leading trial axis)`.
        For a parallel-in-time solve of a stored member, pass `self.model(member)` to
        `neurodyn.parallel.evaluate`.
        """
        model = self.model(member)
        trials = None
        if inputs is None:
            task = self.task(member) if task is None else task
            key = jr.key(0) if key is None else key
            trials = task.sample_batch(n_trials, key=key)
            inputs = trials.inputs
        inputs = jnp.asarray(inputs)
        if inputs.ndim == 2:
            inputs = inputs[None]
        run = lambda x, k: model(x, key=k)  # noqa: E731
        if noise:
            key = jr.key(1) if key is None else key
            keys = jr.split(key, inputs.shape[0])
            traj = jax.vmap(run)(inputs, keys)
        else:
            traj = jax.vmap(lambda x: run(x, None))(inputs)
        return trials, traj


def open_sweep(path, *, verify: bool = True) -> SweepStore:
    """Open a sweep's store for reading (see `SweepStore`); `verify=False` skips the
    check of done regions against their markers."""
    return SweepStore(path, verify=verify)


#: which stored parameters a model is rebuilt with
WHICH = ("final", "init", "best")


def best_parameters(data: xr.Dataset) -> xr.Dataset:
    """`data` with `best_<field>` beside every `final_<field>`: the parameters at the
    evaluation with the lowest held-out loss (`eval_loss`), among the parameter
    snapshots taken at evaluation steps and the final parameters (whose loss is the last
    evaluation's). Ties go to the earlier step. Also adds `best_step` (the training step
    of the chosen parameters) and `best_eval_loss`. Works with or without a leading
    `member` dimension.

    A store without snapshots has only its final parameters to offer: that is refused
    with the spec setting that stores snapshots (`[sweep] snapshot_every`).
    """
    snapshots = [v for v in data.data_vars if v.startswith("snapshot_")]
    if not snapshots or "snapshot_step" not in data.coords:
        raise ValueError(
            "which='best' needs parameter snapshots, and this store has none: train with "
            "[sweep] snapshot_every = a multiple of [train] eval_every (x epochs_per_call), "
            "or use which='final'."
        )
    losses = np.asarray(data["eval_loss"].values, dtype=np.float64)  # [..., epoch]
    eval_steps = np.asarray(data["eval_step"].values).tolist()
    snap_steps = np.asarray(data["snapshot_step"].values).tolist()
    where = [eval_steps.index(s) if s in eval_steps else -1 for s in snap_steps]
    at_snap = np.where(np.asarray(where) >= 0, losses[..., np.maximum(where, 0)], np.nan)
    finite = np.isfinite(losses)
    last = np.where(finite.any(-1), losses.shape[-1] - 1 - np.argmax(finite[..., ::-1], axis=-1), -1)
    at_final = np.where(last >= 0, np.take_along_axis(losses, np.maximum(last, 0)[..., None], -1)[..., 0], np.nan)
    candidates = np.concatenate([at_snap, at_final[..., None]], axis=-1)
    filled = np.where(np.isfinite(candidates), candidates, np.inf)
    choice = np.argmin(filled, axis=-1)  # the first minimum: the earlier step
    n_snap = len(snap_steps)
    dims = data["eval_loss"].dims[:-1]
    is_final = xr.DataArray(choice == n_snap, dims=dims)
    index = xr.DataArray(np.minimum(choice, n_snap - 1), dims=dims)
    final_step = np.asarray(data["steps_trained"].values) if "steps_trained" in data else np.asarray(snap_steps[-1])
    out = {}
    for var in [v for v in data.data_vars if v.startswith("final_")]:
        name = var[len("final_"):]
        if "snapshot_" + name not in data:
            out["best_" + name] = data[var]
            continue
        picked = data["snapshot_" + name].isel(snapshot=index).drop_vars("snapshot_step", errors="ignore")
        out["best_" + name] = xr.where(is_final, data[var], picked).astype(data[var].dtype)
    out["best_step"] = xr.DataArray(
        np.where(choice == n_snap, final_step, np.asarray(snap_steps)[np.minimum(choice, n_snap - 1)]), dims=dims
    )
    out["best_eval_loss"] = xr.DataArray(np.take_along_axis(candidates, choice[..., None], -1)[..., 0], dims=dims)
    return data.assign(out)


def with_parameters(template, data, *, which: str = "final"):
    """`template` with every stored `{which}_<field>` array of `data` in place of its
    field (leading member axes kept): the one way a stored model is rebuilt. `which` is
    `final`, `init` or `best` (see `best_parameters`)."""
    _checks.choice("with_parameters", "which", which, WHICH)
    if which == "best":
        data = best_parameters(data)
    model = template
    prefix = which + "_"
    # a field is what has stored final values (best_step, best_eval_loss are not fields)
    for name in [v[len(prefix):] for v in data.data_vars if v.startswith(prefix) and "final_" + v[len(prefix):] in data]:
        old = getattr(model, name)
        values = jnp.asarray(np.asarray(data[prefix + name].values), dtype=old.dtype)
        model = eqx.tree_at(lambda m, name=name: getattr(m, name), model, values)
    return model
