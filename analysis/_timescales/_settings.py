"""The settings of the store-level timescale analysis, as one object."""

import dataclasses

import equinox as eqx

from neurodyn import _checks
from neurodyn.parallel import METHODS

INPUTS = ("binary", "gaussian", "zero")
CRITERIA = ("aic", "bic")
_FIT_RULE = ("criterion", "min_fraction", "min_separation")


class TimescaleSettings(eqx.Module):
    """How `timescales(store)` drives and fits each network.

    **Fields:** `input` ("binary": x ~ Bernoulli(p) with p ~ U(0, 1) per trial;
    "gaussian": N(0, `input_std`²); "zero"), `input_std`, `n_steps` (recorded steps per
    trial) after `burn_in` steps, `n_trials`, `max_lag` (autocorrelation lags kept),
    `fit_lag` (lags 0 … fit_lag fitted; below `max_lag`), `chunk_size` (steps streamed
    at a time; does not change the numbers), `network` (add the linearised timescales at
    the stored fixed points, when there are some), `time_solver` ("scan", or a method of
    `neurodyn.parallel.evaluate` solving each chunk in parallel over time: the same
    numbers within the solver's tolerance, faster on GPUs for long chunks); and the
    choice between the single and double exponential, as in `fit_autocorrelation`:
    `criterion` ("aic", the study's rule, or "bic"), `min_fraction` (each term's least
    share of the double fit) and `min_separation` (least τ_slow / τ_fast).
    """

    input: str = "binary"
    input_std: float = 1.0
    n_steps: int = 20_000
    burn_in: int = 1_000
    n_trials: int = 1
    max_lag: int = 100
    fit_lag: int = 30
    chunk_size: int = 1_000
    network: bool = True
    time_solver: str = "scan"
    criterion: str = "aic"
    min_fraction: float = 0.1
    min_separation: float = 1.0

    def __check_init__(self):
        owner = "timescales"
        _checks.choice(owner, "input", self.input, INPUTS)
        _checks.choice(owner, "time_solver", self.time_solver, METHODS)
        for name in ("n_steps", "burn_in", "max_lag", "fit_lag", "n_trials", "chunk_size"):
            _checks.positive_int(owner, name, getattr(self, name), minimum=0 if name == "burn_in" else 1)
        _checks.choice(owner, "criterion", self.criterion, CRITERIA)
        _checks.in_range(owner, "min_fraction", self.min_fraction, low=0.0, high=0.5, high_open=True)
        _checks.in_range(owner, "min_separation", self.min_separation, low=1.0)
        if self.fit_lag >= self.max_lag:
            raise ValueError(f"{owner}: fit_lag={self.fit_lag} must be below max_lag={self.max_lag}.")

    def stored(self) -> dict:
        """The settings stored with the results (those that change the numbers)."""
        names = ("input", "input_std", "n_steps", "burn_in", "n_trials", "max_lag", "fit_lag")
        out = {n: getattr(self, n) for n in names}
        # the fit's rule only where it is not the default, so results stored before these
        # settings existed compare equal to the default rule
        defaults = {f.name: f.default for f in dataclasses.fields(self)}
        for name in _FIT_RULE:
            if getattr(self, name) != defaults[name]:
                out[name] = getattr(self, name)
        return out
