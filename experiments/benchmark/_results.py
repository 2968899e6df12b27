"""Figures, repeats and ratios: what every case records, in one JSON-able object."""

import dataclasses
import statistics
import time
from collections.abc import Callable


@dataclasses.dataclass
class Figure:
    """One measured quantity: every repeat's value, its unit and what was measured."""

    unit: str
    values: list[float]
    params: dict = dataclasses.field(default_factory=dict)
    higher_is_better: bool = True

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def as_dict(self) -> dict:
        return {
            "unit": self.unit,
            "median": self.median,
            "min": min(self.values),
            "max": max(self.values),
            "repeats": list(self.values),
            "higher_is_better": self.higher_is_better,
            **({"params": self.params} if self.params else {}),
        }


@dataclasses.dataclass
class Results:
    """Everything one run of the harness measured (ratios only from this run's figures)."""

    figures: dict[str, Figure] = dataclasses.field(default_factory=dict)
    ratios: dict[str, dict] = dataclasses.field(default_factory=dict)
    info: dict[str, dict] = dataclasses.field(default_factory=dict)
    notes: list[str] = dataclasses.field(default_factory=list)
    skipped: dict[str, str] = dataclasses.field(default_factory=dict)
    case_seconds: dict[str, float] = dataclasses.field(default_factory=dict)

    def add(self, name: str, unit: str, values, *, higher_is_better: bool = True, **params) -> Figure:
        values = [float(v) for v in values]
        if not values:
            raise ValueError(f"figure {name!r} has no values")
        fig = Figure(unit, values, params, higher_is_better)
        self.figures[name] = fig
        return fig

    def ratio(self, name: str, numerator: str, denominator: str, what: str) -> float | None:
        """median(numerator) / median(denominator), both figures of this run."""
        if numerator not in self.figures or denominator not in self.figures:
            return None
        den = self.figures[denominator].median
        value = self.figures[numerator].median / den if den else float("nan")
        self.ratios[name] = {
            "value": value,
            "numerator": numerator,
            "denominator": denominator,
            "what": what,
        }
        return value

    def as_dict(self) -> dict:
        return {
            "figures": {k: v.as_dict() for k, v in self.figures.items()},
            "ratios": self.ratios,
            "info": self.info,
            "notes": self.notes,
            "skipped": self.skipped,
            "case_seconds": self.case_seconds,
        }


def time_call(fn: Callable[[], object]) -> float:
    """Wall time of one call of `fn` (which must block until its work is done)."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def repeat(fn: Callable[[], object], repeats: int, warmup: int = 1) -> list[float]:
    """Wall times of `repeats` calls of `fn` after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    return [time_call(fn) for _ in range(repeats)]


def interleaved(methods: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    """Round-robin repeats: every method once per round, so a change of load on a shared
    machine hits all methods alike. Warm-up is the caller's job."""
    times: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(repeats):
        for name, fn in methods.items():
            times[name].append(time_call(fn))
    return times
