"""The settings of the store-level fixed-point analysis, as one object."""

import equinox as eqx

from neurodyn import _checks


class FixedPointSearch(eqx.Module):
    """How `fixed_points(store)` searches each network (defaults: the reference finder's,
    Golub & Sussillo 2018).

    **Fields:** `n_initial` (starting states per network, sampled from its stored
    evaluation trajectories), `noise_scale` (Gaussian noise added to them), `n_iters`,
    `learning_rate` and `tol_q` (the speed-minimisation of `find_fixed_points`),
    `unique_tol` (distance under which two points are one, or `"auto"`),
    `outlier_distance` (points farther than this from the trajectories are dropped;
    None keeps all), `max_points` (size of the stored `fp` axis), `connect` (connect each
    one-mode saddle to the attractors it leads to).
    """

    n_initial: int = 1024
    noise_scale: float = 0.5
    n_iters: int = 5000
    learning_rate: float = 1e-2
    tol_q: float = 1e-12
    unique_tol: float | str = 1e-3
    outlier_distance: float | None = 10.0
    max_points: int | None = 64
    connect: bool = True

    def __check_init__(self):
        owner = "fixed_points"
        _checks.positive_int(owner, "n_initial", self.n_initial)
        _checks.positive_int(owner, "n_iters", self.n_iters, minimum=0)
        _checks.in_range(owner, "noise_scale", self.noise_scale, low=0.0)
        _checks.in_range(owner, "learning_rate", self.learning_rate, low=0.0, low_open=True)
        _checks.in_range(owner, "tol_q", self.tol_q, low=0.0, low_open=True)
        if self.unique_tol != "auto":
            _checks.in_range(owner, "unique_tol", self.unique_tol, low=0.0, low_open=True)
        if self.outlier_distance is not None:
            _checks.in_range(owner, "outlier_distance", self.outlier_distance, low=0.0, low_open=True)
        if self.max_points is not None:
            _checks.positive_int(owner, "max_points", self.max_points)
        if not isinstance(self.connect, bool):
            raise TypeError(f"{owner}: connect={self.connect!r} must be True or False.")
