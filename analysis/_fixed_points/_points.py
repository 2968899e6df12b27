"""The result of a fixed-point search: a fixed-size `fp` axis with a `valid` mask.

Every array has a fixed shape, so a search can be jitted and vmapped over members (or
over constant inputs); leading axes added by `vmap` come before `fp` / `candidate`.
Invalid slots hold NaN (floats), -1 (integers) or False (booleans).
"""

import dataclasses

import equinox as eqx
import jax
import numpy as np
from jaxtyping import Array, Bool, Complex, Float, Int

# Per-candidate status codes.
CONVERGED = 0  # q <= tol_q: a fixed point
SLOW = 1  # tol_q < q <= newton_tol_q: a slow point (small q that is not a root)
FAILED = 2  # q above newton_tol_q, or not finite
OUTLIER = 3  # ended farther than outlier_distance from the initial states' centroid
CANDIDATE_STATUS = {CONVERGED: "converged", SLOW: "slow", FAILED: "failed", OUTLIER: "outlier"}

# Per-point stability codes (-1 for an invalid slot).
STABLE = 0  # no unstable mode
SADDLE = 1  # some but not all modes unstable
UNSTABLE = 2  # every mode unstable (a repeller)
STABILITY = {STABLE: "stable", SADDLE: "saddle", UNSTABLE: "unstable"}


class FixedPoints(eqx.Module):
    """Fixed points (and slow points) of one model at one constant input.

    **Fields** (shapes for one model; `vmap` adds leading axes):

    - `points`: `[fp, state]`, the unique points, best-converged first.
    - `valid`: `[fp]`, True for the filled slots (always a prefix of the axis).
    - `q`: `[fp]`, q(h) = ½‖F(h)‖² at each point.
    - `slow`: `[fp]`, True for slow points (q above `tol_q`), False for fixed points.
    - `eigenvalues`: `[fp, eig]`, eigenvalues of the linearised dynamics: of ∂F/∂h for
      continuous models, of the step map's Jacobian ∂step/∂h = I + ∂F/∂h for discrete
      ones; sorted most unstable first (by Re λ, or by |λ|).
    - `n_unstable`: `[fp]`, how many modes are unstable (Re λ > 0, or |λ| > 1).
    - `stability`: `[fp]`, `STABLE` (0), `SADDLE` (1) or `UNSTABLE` (2; every mode).
    - `unstable_vector`: `[fp, state]`, unit eigenvector of the one unstable mode of
      saddles with exactly one (`has_unstable_vector`); NaN elsewhere.
    - `attractors`: `[fp, 2]`, for one-mode saddles, the index (into `fp`) of the
      attractor reached from each side of the unstable direction, -1 if none (filled
      by `connect_saddles`; -1 everywhere before).
    - `u`: `[input]`, the constant input.
    - `candidate_status`, `candidate_q`, `candidate_fp`: `[candidate]`, per initial
      state: `CONVERGED` / `SLOW` / `FAILED` / `OUTLIER`, its final q, and the slot of
      the unique point it was merged into (-1 if none).
    - `continuous`: True for continuous-time models.
    - `settings`: the search settings, as (name, value) pairs.
    """

    points: Float[Array, "*batch fp state"]
    valid: Bool[Array, "*batch fp"]
    q: Float[Array, "*batch fp"]
    slow: Bool[Array, "*batch fp"]
    eigenvalues: Complex[Array, "*batch fp eig"]
    n_unstable: Int[Array, "*batch fp"]
    stability: Int[Array, "*batch fp"]
    unstable_vector: Float[Array, "*batch fp state"]
    attractors: Int[Array, "*batch fp 2"]
    u: Float[Array, "*batch input"]
    candidate_status: Int[Array, "*batch candidate"]
    candidate_q: Float[Array, "*batch candidate"]
    candidate_fp: Int[Array, "*batch candidate"]
    continuous: bool = eqx.field(static=True)
    settings: tuple = eqx.field(static=True, default=())

    @property
    def batch_shape(self) -> tuple[int, ...]:
        """The leading axes added by vmap (members, inputs), () for one model."""
        return self.valid.shape[:-1]

    @property
    def count(self) -> Int[Array, "*batch"]:
        """Number of valid points."""
        return self.valid.sum(-1)

    @property
    def has_unstable_vector(self) -> Bool[Array, "*batch fp"]:
        """True where `unstable_vector` holds a saddle's one unstable direction."""
        return self.valid & (self.n_unstable == 1)

    def __getitem__(self, index) -> "FixedPoints":
        """Index the leading (member / input) axes: `fps[3]` is member 3's result."""
        if not self.batch_shape:
            raise IndexError(
                "FixedPoints: this result has no leading member or input axis to index; "
                "index its fields instead (e.g. `fps.points[fps.valid]`)."
            )
        return jax.tree_util.tree_map(lambda x: x[index], self)

    def summary(self) -> "FixedPointsSummary":
        """Counts of candidates and points (summed over any leading axes)."""
        return FixedPointsSummary.of(self)

    def __str__(self) -> str:
        return str(self.summary())


@dataclasses.dataclass(frozen=True)
class FixedPointsSummary:
    """How a search went: candidates by status, unique points by kind.

    Counts are totals over any leading (member / input) axes; `per_model_count` gives
    the number of valid points of each model (shape of the leading axes).
    """

    continuous: bool
    n_models: int
    n_candidates: int
    n_converged: int
    n_slow_candidates: int
    n_failed: int
    n_outliers: int
    n_dropped: int  # converged or slow candidates left without a slot (max_points full)
    n_points: int
    n_fixed: int
    n_slow: int
    n_stable: int
    n_saddles: int
    n_one_mode_saddles: int
    n_unstable_points: int
    n_connected_sides: int
    slots: int
    per_model_count: np.ndarray
    tol_q: float | None

    @classmethod
    def of(cls, fps: FixedPoints) -> "FixedPointsSummary":
        s = np.asarray(fps.candidate_status)
        valid = np.asarray(fps.valid)
        slow = np.asarray(fps.slow)
        stab = np.asarray(fps.stability)
        nu = np.asarray(fps.n_unstable)
        cand_fp = np.asarray(fps.candidate_fp)
        kept = (s == CONVERGED) | (s == SLOW)
        one_mode = valid & (nu == 1)
        return cls(
            continuous=fps.continuous,
            n_models=int(np.prod(fps.batch_shape, dtype=int)),
            n_candidates=int(s.size),
            n_converged=int((s == CONVERGED).sum()),
            n_slow_candidates=int((s == SLOW).sum()),
            n_failed=int((s == FAILED).sum()),
            n_outliers=int((s == OUTLIER).sum()),
            n_dropped=int((kept & (cand_fp < 0)).sum()),
            n_points=int(valid.sum()),
            n_fixed=int((valid & ~slow).sum()),
            n_slow=int((valid & slow).sum()),
            n_stable=int((valid & (stab == STABLE)).sum()),
            n_saddles=int((valid & (stab == SADDLE)).sum()),
            n_one_mode_saddles=int(one_mode.sum()),
            n_unstable_points=int((valid & (stab == UNSTABLE)).sum()),
            n_connected_sides=int((one_mode[..., None] & (np.asarray(fps.attractors) >= 0)).sum()),
            slots=int(valid.shape[-1]),
            per_model_count=valid.sum(-1),
            tol_q=dict(fps.settings).get("tol_q"),
        )

    def __str__(self) -> str:
        kind = "continuous" if self.continuous else "discrete"
        models = f" over {self.n_models} models" if self.per_model_count.ndim else ""
        tol = f" (q <= {self.tol_q:g})" if self.tol_q is not None else ""
        lines = [
            f"FixedPoints ({kind}{models}, {self.slots} slots per model)",
            f"  candidates: {self.n_candidates}: {self.n_converged} converged{tol}, "
            f"{self.n_slow_candidates} slow, {self.n_failed} failed, {self.n_outliers} outliers",
            f"  unique points: {self.n_points} ({self.n_fixed} fixed, {self.n_slow} slow)",
            f"  stability: {self.n_stable} stable, {self.n_saddles} saddles "
            f"({self.n_one_mode_saddles} with one unstable mode, {self.n_connected_sides} "
            f"of their sides connected), {self.n_unstable_points} unstable",
        ]
        if self.per_model_count.ndim:
            lines.append(
                f"  points per model: min {self.per_model_count.min()}, "
                f"max {self.per_model_count.max()}"
            )
        if self.n_dropped:
            lines.append(
                f"  WARNING: {self.n_dropped} converged or slow candidates found no free slot; "
                "raise max_points."
            )
        return "\n".join(lines)

    __repr__ = __str__
