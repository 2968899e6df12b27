"""Settings of the mechanism analyses, one small module per analysis.

Each is validated once at construction, printable, hashable (it is a static argument of
the compiled analyses) and stored whole with the results (`settings_dict`). The
defaults are those of Torre et al. (NeurIPS 2025), docs/studies/hmm-emulation.md.
"""

import dataclasses

import equinox as eqx

from neurodyn import _checks

from .._settings import resolve as resolve
from .._settings import settings_dict as settings_dict

TARGETS = ("kick", "populations")
POPULATION_SCORES = ("input", "kick")
#: The parts of `analyse_mechanism`, in the order they run, and what each one needs.
PARTS = ("global_dynamics", "residency", "linearisation", "units", "drive_scaling")
_NEEDS = {"linearisation": ("residency",), "units": ("residency",), "drive_scaling": ("residency", "units")}


def resolve_parts(owner: str, parts) -> tuple[str, ...]:
    """`parts` (None: all) checked, with what they need added, in the order they run."""
    if parts is None:
        return PARTS
    if isinstance(parts, str):
        parts = (parts,)
    parts = tuple(parts)
    for part in parts:
        if part not in PARTS:
            raise ValueError(
                f"{owner}: parts holds {part!r}, which is not one of {list(PARTS)}."
                f"{_checks.closest(part, PARTS)}"
            )
    if not parts:
        raise ValueError(f"{owner}: parts is empty; name at least one of {list(PARTS)}, or pass None for all.")
    wanted = set(parts)
    for part in parts:
        wanted.update(_NEEDS.get(part, ()))
    return tuple(p for p in PARTS if p in wanted)


def _floats(owner: str, field: str, values, *, low: float, low_open: bool) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in values)
    except TypeError:
        values = (float(values),)
    if not values:
        raise ValueError(f"{owner}: {field} must hold at least one number, got an empty list.")
    _checks.in_range(owner, field, list(values), low=low, low_open=low_open)
    return values


def _unit_interval(owner: str, field: str, value, **kw) -> float:
    _checks.in_range(owner, field, value, low=0.0, high=1.0, **kw)
    return float(value)


class GlobalDynamics(eqx.Module):
    """Global dynamics: noise-driven runs, relaxation without input, orbit size.

    **Fields:** `scales` (input noise stds, one run each; the study's 0.1–4), `n_steps`
    (recorded steps per run; 30 000 in the study), `burn_in` (steps discarded first),
    `n_samples` (states sampled evenly from the run and relaxed; 100), `n_relax`
    (steps without input; 500), `n_trace` (first recorded states kept, projected, for
    figures), `n_eig` (leading eigenvalues kept at the fixed point), `collapse_tol`
    (collapsed when the relaxed spread is below this fraction of the sampled spread),
    `chunk_size` (steps per scanned chunk), `process_noise` (also draw the model's own
    noise).
    """

    scales: tuple[float, ...] = (0.1, 1.0, 2.0, 3.0, 4.0)
    n_steps: int = 30_000
    burn_in: int = 100
    n_samples: int = 100
    n_relax: int = 500
    n_trace: int = 500
    n_eig: int = 4
    collapse_tol: float = 1e-3
    chunk_size: int = 1000
    process_noise: bool = False

    def __init__(
        self, scales=(0.1, 1.0, 2.0, 3.0, 4.0), n_steps=30_000, burn_in=100, n_samples=100,
        n_relax=500, n_trace=500, n_eig=4, collapse_tol=1e-3, chunk_size=1000, process_noise=False,
    ):
        owner = "GlobalDynamics"
        self.scales = _floats(owner, "scales", scales, low=0.0, low_open=True)
        self.n_steps = _checks.positive_int(owner, "n_steps", n_steps, minimum=2)
        self.burn_in = _checks.positive_int(owner, "burn_in", burn_in, minimum=0)
        self.n_samples = _checks.positive_int(owner, "n_samples", n_samples)
        if self.n_samples > self.n_steps:
            raise ValueError(
                f"{owner}: n_samples={n_samples} must not exceed n_steps={n_steps} "
                "(states are sampled from the recorded run); lower n_samples or raise n_steps."
            )
        self.n_relax = _checks.positive_int(owner, "n_relax", n_relax)
        self.n_trace = _checks.positive_int(owner, "n_trace", n_trace)
        self.n_eig = _checks.positive_int(owner, "n_eig", n_eig)
        _checks.in_range(owner, "collapse_tol", collapse_tol, low=0.0, low_open=True)
        self.collapse_tol = float(collapse_tol)
        self.chunk_size = _checks.positive_int(owner, "chunk_size", chunk_size)
        self.process_noise = bool(process_noise)


class Residency(eqx.Module):
    """Residency segmentation of a noisy trajectory (dwell times and labels).

    **Fields:** `noise_std` (input noise of the trajectory and its continuations),
    `n_time` (states of the trajectory), `burn_in`, `n_continuations` (K, 20),
    `max_dwell` (L, steps per continuation; 50), `transition_below` (dwell < 2 is a
    transition), `kick_max` (2 ≤ dwell ≤ 8 is a kick-zone), `cluster_confidence` (a
    cluster needs dwell > `kick_max` and max softmax > 0.8), `process_noise`.
    """

    noise_std: float = 1.0
    n_time: int = 1000
    burn_in: int = 100
    n_continuations: int = 20
    max_dwell: int = 50
    transition_below: float = 2.0
    kick_max: float = 8.0
    cluster_confidence: float = 0.8
    process_noise: bool = False

    def __init__(
        self, noise_std=1.0, n_time=1000, burn_in=100, n_continuations=20, max_dwell=50,
        transition_below=2.0, kick_max=8.0, cluster_confidence=0.8, process_noise=False,
    ):
        owner = "Residency"
        _checks.in_range(owner, "noise_std", noise_std, low=0.0)
        self.noise_std = float(noise_std)
        self.n_time = _checks.positive_int(owner, "n_time", n_time)
        self.burn_in = _checks.positive_int(owner, "burn_in", burn_in, minimum=0)
        self.n_continuations = _checks.positive_int(owner, "n_continuations", n_continuations)
        self.max_dwell = _checks.positive_int(owner, "max_dwell", max_dwell)
        _checks.in_range(owner, "transition_below", transition_below, low=0.0)
        _checks.in_range(owner, "kick_max", kick_max, low=0.0)
        if not float(transition_below) <= float(kick_max) < self.max_dwell:
            raise ValueError(
                f"{owner}: the dwell thresholds must satisfy transition_below <= kick_max < "
                f"max_dwell, got {transition_below}, {kick_max} and {max_dwell}; the study "
                "uses 2, 8 and 50."
            )
        self.transition_below = float(transition_below)
        self.kick_max = float(kick_max)
        self.cluster_confidence = _unit_interval(owner, "cluster_confidence", cluster_confidence)
        self.process_noise = bool(process_noise)


class UnitSearch(eqx.Module):
    """Kick units and noise-integrating populations.

    **Fields:** `n_kick` (kick units kept, best first; the reference network has two
    triplets), `population_size` (units per population; None: (hidden − n_kick) // 2,
    about the study's 70 of 150), `population_by` ("input": the units' input-weight
    norm, "kick": their summed |weight| onto the kick units).
    """

    n_kick: int = 6
    population_size: int | None = None
    population_by: str = "input"

    def __init__(self, n_kick=6, population_size=None, population_by="input"):
        owner = "UnitSearch"
        self.n_kick = _checks.positive_int(owner, "n_kick", n_kick)
        self.population_size = (
            None if population_size is None
            else _checks.positive_int(owner, "population_size", population_size)
        )
        self.population_by = _checks.choice(owner, "population_by", population_by, POPULATION_SCORES)


class DriveScaling(eqx.Module):
    """Causal test: the recurrent drive into a set of units scaled by μ.

    **Fields:** `mu` (the factors; 1 leaves the network unchanged), `noise_std`,
    `n_sequences` and `sequence_length` (noise-driven sequences from the initial state,
    on which output changes are counted; 40 is the cyclic HMM's length), `n_steps` and
    `burn_in` (one long run per μ for dwell times and the orbit), `persist_ratio` (the
    orbit persists while its radius in the unperturbed PC1–2 plane stays above this
    fraction of the unperturbed radius), `target` ("kick" or "populations": which found
    units the store-level analysis scales), `chunk_size`, `process_noise`.
    """

    mu: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0)
    noise_std: float = 1.0
    n_sequences: int = 64
    sequence_length: int = 40
    n_steps: int = 5000
    burn_in: int = 100
    persist_ratio: float = 0.5
    target: str = "kick"
    chunk_size: int = 1000
    process_noise: bool = False

    def __init__(
        self, mu=(0.0, 0.5, 1.0, 2.0), noise_std=1.0, n_sequences=64, sequence_length=40,
        n_steps=5000, burn_in=100, persist_ratio=0.5, target="kick", chunk_size=1000,
        process_noise=False,
    ):
        owner = "DriveScaling"
        self.mu = _floats(owner, "mu", mu, low=0.0, low_open=False)
        _checks.in_range(owner, "noise_std", noise_std, low=0.0)
        self.noise_std = float(noise_std)
        self.n_sequences = _checks.positive_int(owner, "n_sequences", n_sequences)
        self.sequence_length = _checks.positive_int(owner, "sequence_length", sequence_length, minimum=2)
        self.n_steps = _checks.positive_int(owner, "n_steps", n_steps, minimum=2)
        self.burn_in = _checks.positive_int(owner, "burn_in", burn_in, minimum=0)
        self.persist_ratio = _unit_interval(owner, "persist_ratio", persist_ratio)
        self.target = _checks.choice(owner, "target", target, TARGETS)
        self.chunk_size = _checks.positive_int(owner, "chunk_size", chunk_size)
        self.process_noise = bool(process_noise)


class TrainingDynamics(eqx.Module):
    """Training dynamics: the fixed point's spectrum and the orbit per parameter snapshot.

    **Fields:** `noise_std` (the noise of the orbit runs), `n_steps`, `burn_in`,
    `n_samples`, `n_relax`, `n_eig`, `collapse_tol`, `chunk_size`, `process_noise`: as in
    `GlobalDynamics`, for one noise scale and a shorter run per snapshot.
    """

    noise_std: float = 1.0
    n_steps: int = 5000
    burn_in: int = 100
    n_samples: int = 32
    n_relax: int = 500
    n_eig: int = 4
    collapse_tol: float = 1e-3
    chunk_size: int = 1000
    process_noise: bool = False

    def __init__(
        self, noise_std=1.0, n_steps=5000, burn_in=100, n_samples=32, n_relax=500, n_eig=4,
        collapse_tol=1e-3, chunk_size=1000, process_noise=False,
    ):
        owner = "TrainingDynamics"
        _checks.in_range(owner, "noise_std", noise_std, low=0.0, low_open=True)
        self.noise_std = float(noise_std)
        # the same checks as a one-scale GlobalDynamics
        try:
            g = GlobalDynamics(
                (noise_std,), n_steps, burn_in, n_samples, n_relax, 1, n_eig, collapse_tol,
                chunk_size, process_noise,
            )
        except (TypeError, ValueError) as error:
            raise type(error)(str(error).replace("GlobalDynamics:", f"{owner}:", 1)) from None
        self.n_steps, self.burn_in, self.n_samples = g.n_steps, g.burn_in, g.n_samples
        self.n_relax, self.n_eig, self.collapse_tol = g.n_relax, g.n_eig, g.collapse_tol
        self.chunk_size, self.process_noise = g.chunk_size, g.process_noise

    def global_dynamics(self) -> GlobalDynamics:
        """The one-scale `GlobalDynamics` run at every snapshot."""
        return GlobalDynamics(
            (self.noise_std,), self.n_steps, self.burn_in, self.n_samples, self.n_relax, 1,
            self.n_eig, self.collapse_tol, self.chunk_size, self.process_noise,
        )


_PARTS = {
    "global_dynamics": GlobalDynamics,
    "residency": Residency,
    "units": UnitSearch,
    "drive_scaling": DriveScaling,
    "training": TrainingDynamics,
}


def _field_names(cls) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


class HMMMechanism(eqx.Module):
    """All settings of the HMM-emulation mechanism analysis (Torre et al., NeurIPS 2025).

    **Fields:** `global_dynamics` (`GlobalDynamics`), `residency` (`Residency`), `units`
    (`UnitSearch`), `drive_scaling` (`DriveScaling`), `training` (`TrainingDynamics`);
    each defaults to its own defaults.

    Keywords are a thin convenience: each one is set in every part that has a field of
    that name (`noise_std=2.0` sets the residency, drive-scaling and training noise;
    `n_steps` every run length). Pass a part whole to set one part only.
    """

    global_dynamics: GlobalDynamics
    residency: Residency
    units: UnitSearch
    drive_scaling: DriveScaling
    training: TrainingDynamics

    def __init__(
        self, global_dynamics=None, residency=None, units=None, drive_scaling=None,
        training=None, **keywords,
    ):
        parts = {
            "global_dynamics": global_dynamics, "residency": residency, "units": units,
            "drive_scaling": drive_scaling, "training": training,
        }
        known = sorted({n for cls in _PARTS.values() for n in _field_names(cls)})
        unknown = [k for k in keywords if k not in known]
        if unknown:
            raise TypeError(
                f"HMMMechanism: unknown setting {unknown[0]!r}.{_checks.closest(unknown[0], known)} "
                f"Settings: {known}."
            )
        for name, cls in _PARTS.items():
            part = parts[name]
            if part is None:
                part = cls()
            elif not isinstance(part, cls):
                raise TypeError(
                    f"HMMMechanism: {name} must be a {cls.__name__}, got {type(part).__name__}; "
                    f"build one with {cls.__name__}(...) or pass its fields as keywords."
                )
            mine = {k: v for k, v in keywords.items() if k in _field_names(cls)}
            if mine:
                current = {f: getattr(part, f) for f in _field_names(cls)}
                part = cls(**{**current, **mine})
            setattr(self, name, part)
