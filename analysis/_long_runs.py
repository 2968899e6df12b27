"""Long driving runs of a model under a random input process, in chunks.

A run of 10⁵–10⁶ steps of a few hundred units does not fit in memory as one array for
every member of a sweep, and the analyses need only a summary of it (an
autocorrelation). `drive` therefore scans over chunks of `chunk_size` steps and hands each
chunk of recorded activity to an accumulator (e.g. `AutocorrelationAccumulator`); only
the accumulator's state is carried between chunks. Without an accumulator it returns the
whole recorded run. No gradients flow: the model's arrays pass through `stop_gradient`.
"""

import abc
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, PRNGKeyArray

from neurodyn import _checks
from neurodyn.models import AbstractRNN
from neurodyn.parallel import METHODS
from neurodyn.parallel import evaluate as parallel_evaluate

_RECORDS = ("rates", "hidden", "state")


class AbstractInputProcess(eqx.Module):
    """A stationary random input: a per-trial condition, then i.i.d. draws per step.

    Subclasses define `sample_condition(*, key)` (parameters drawn once per trial, or
    None) and `sample(condition, n_time, input_size, *, key) -> [time, input]`.
    """

    def sample_condition(self, *, key: PRNGKeyArray) -> Any:
        """Parameters drawn once per trial (None for most processes)."""
        return None

    @abc.abstractmethod
    def sample(
        self, condition: Any, n_time: int, input_size: int, *, key: PRNGKeyArray
    ) -> Float[Array, "time input"]:
        """`n_time` steps of input for one trial under `condition`."""


class BinaryInput(AbstractInputProcess):
    """Random binary input x_t ~ Bernoulli(p), independently per step and channel.

    With `p=None` every trial draws its own p ~ U(0, 1), as in the N-parity task of
    Khajehabdollahi et al. (ICLR 2024); otherwise `p` is fixed (an array leaf, so it can
    be swept).
    """

    p: Float[Array, ""] | None

    def __init__(self, p: float | None = None):
        if p is not None:
            _checks.in_range("BinaryInput", "p", p, low=0.0, high=1.0)
            p = jnp.asarray(p, dtype=float)
        self.p = p

    def sample_condition(self, *, key: PRNGKeyArray) -> Float[Array, ""]:
        if self.p is None:
            return jr.uniform(key)
        return self.p

    def sample(self, condition, n_time, input_size, *, key):
        return jr.bernoulli(key, condition, (n_time, input_size)).astype(float)


class GaussianInput(AbstractInputProcess):
    """White Gaussian input x_t ~ N(mean, std²), independently per step and channel."""

    std: Float[Array, ""]
    mean: Float[Array, ""]

    def __init__(self, std: float = 1.0, mean: float = 0.0):
        _checks.in_range("GaussianInput", "std", std, low=0.0)
        self.std = jnp.asarray(std, dtype=float)
        self.mean = jnp.asarray(mean, dtype=float)

    def sample(self, condition, n_time, input_size, *, key):
        return self.mean + self.std * jr.normal(key, (n_time, input_size))


class ZeroInput(AbstractInputProcess):
    """No input: the autonomous dynamics (with process noise if `drive(noise=True)`)."""

    def sample(self, condition, n_time, input_size, *, key):
        return jnp.zeros((n_time, input_size))


class AbstractAccumulator(eqx.Module):
    """Consumes a run chunk by chunk: `init`, `update` per chunk, `finalize` at the end."""

    @abc.abstractmethod
    def init(self, n_units: int, dtype) -> Any:
        """The empty state for `n_units` recorded units."""

    @abc.abstractmethod
    def update(self, state: Any, chunk: Float[Array, "time hidden"]) -> Any:
        """Fold one chunk (any length) into the state."""

    @abc.abstractmethod
    def finalize(self, state: Any) -> Any:
        """The summary of everything seen."""


def _record_rates(model, state):
    return model.rates(state)


def _record_hidden(model, state):
    return model.hidden(state)


def _record_state(model, state):
    return state


# Module-level functions, so that `filter_jit` sees the same static argument every call.
_RECORD_FNS = {"rates": _record_rates, "hidden": _record_hidden, "state": _record_state}


def _recorder(record) -> Callable:
    if callable(record):
        return record
    return _RECORD_FNS[_checks.choice("drive", "record", record, _RECORDS)]


def _record_nothing(model, state):
    return None


def _chunk_lengths(n: int, chunk_size: int) -> tuple[int, int]:
    return n // chunk_size, n % chunk_size


def _run_chunk(model, process, condition, state, n_time, record_fn, noise, key, solver="scan"):
    """Advance `n_time` steps; returns the final state and the recorded activity."""
    kin, knoise = jr.split(key)
    inputs = process.sample(condition, n_time, model.input_size, key=kin)
    if solver != "scan":
        # the same steps (and, with noise, the same keys: jr.split(knoise, n_time)) solved
        # over the whole chunk at once
        traj, _ = parallel_evaluate(model, inputs, method=solver, state0=state, key=knoise if noise else None)
        return traj.state[-1], jax.vmap(lambda h: record_fn(model, h))(traj.state)
    if noise:
        keys = jr.split(knoise, n_time)

        def body(h, xs):
            u, k = xs
            h = model.step(h, u, key=k)
            return h, record_fn(model, h)

        return jax.lax.scan(body, state, (inputs, keys))

    def body(h, u):
        h = model.step(h, u)
        return h, record_fn(model, h)

    return jax.lax.scan(body, state, inputs)


def _burn(model, process, condition, state, n, chunk_size, noise, key, solver="scan"):
    """Run `n` steps, keeping only the final state."""
    n_chunks, rest = _chunk_lengths(n, chunk_size)
    if n_chunks:

        def body(h, k):
            h, _ = _run_chunk(model, process, condition, h, chunk_size, _record_nothing, noise, k, solver)
            return h, None

        state, _ = jax.lax.scan(body, state, jr.split(jr.fold_in(key, 0), n_chunks))
    if rest:
        state, _ = _run_chunk(
            model, process, condition, state, rest, _record_nothing, noise, jr.fold_in(key, 1), solver
        )
    return state


def _drive_trial(model, process, n_steps, burn_in, chunk_size, record_fn, accumulator, noise, key, solver="scan"):
    ckey, bkey, rkey = jr.split(key, 3)
    condition = process.sample_condition(key=ckey)
    state = _burn(model, process, condition, model.initial_state(), burn_in, chunk_size, noise, bkey, solver)
    n_chunks, rest = _chunk_lengths(n_steps, chunk_size)
    chunk_keys = jr.split(jr.fold_in(rkey, 0), n_chunks)
    rest_key = jr.fold_in(rkey, 1)

    if accumulator is None:
        pieces = []
        if n_chunks:

            def body(h, k):
                return _run_chunk(model, process, condition, h, chunk_size, record_fn, noise, k, solver)

            state, recorded = jax.lax.scan(body, state, chunk_keys)
            pieces.append(recorded.reshape(n_chunks * chunk_size, *recorded.shape[2:]))
        if rest:
            state, recorded = _run_chunk(
                model, process, condition, state, rest, record_fn, noise, rest_key, solver
            )
            pieces.append(recorded)
        return jnp.concatenate(pieces, axis=0)

    probe = jax.eval_shape(lambda: record_fn(model, state))
    acc = accumulator.init(probe.shape[-1], probe.dtype)
    if n_chunks:

        def body(carry, k):
            h, acc = carry
            h, recorded = _run_chunk(model, process, condition, h, chunk_size, record_fn, noise, k, solver)
            return (h, accumulator.update(acc, recorded)), None

        (state, acc), _ = jax.lax.scan(body, (state, acc), chunk_keys)
    if rest:
        state, recorded = _run_chunk(model, process, condition, state, rest, record_fn, noise, rest_key, solver)
        acc = accumulator.update(acc, recorded)
    return accumulator.finalize(acc)


def drive(
    model: AbstractRNN,
    input_process: AbstractInputProcess,
    n_steps: int,
    *,
    burn_in: int = 0,
    key: PRNGKeyArray,
    chunk_size: int = 1000,
    n_trials: int = 1,
    record: str | Callable = "rates",
    accumulator: AbstractAccumulator | None = None,
    noise: bool = False,
    time_solver: str = "scan",
):
    """Drive a model for a long run under a random input process.

    Each trial starts from `model.initial_state()`, draws its condition (e.g. p of
    `BinaryInput`), runs `burn_in` steps that are discarded, then `n_steps` recorded
    steps, scanning over chunks of `chunk_size` steps (a shorter last chunk takes the
    remainder). Trials are independent (`vmap`); members come from `eqx.filter_vmap`.

    **Arguments:**

    - `model`: any `AbstractRNN` (continuous models advance by their fixed step `dt`).
    - `input_process`: `BinaryInput`, `GaussianInput`, `ZeroInput` or your own
      `AbstractInputProcess`.
    - `n_steps`, `burn_in`, `chunk_size`, `n_trials`: Python ints (static).
    - `record`: `"rates"` (default, `model.rates(state)`: the units' activity), `"hidden"`,
      `"state"`, or a function `(model, state) -> vector` (a static argument: reuse
      the same function object, or each call compiles anew).
    - `accumulator`: if given, each chunk is folded into it and only its state is kept.
    - `noise`: draw the model's process noise (off by default: the noise-free dynamics
      under random input).
    - `time_solver`: how each chunk's time axis is run: "scan" (default), or a method of
      `neurodyn.parallel.evaluate` ("deer", "quasi_deer", "elk", "quasi_elk", "auto"),
      which solves the chunk's `chunk_size` steps at once in O(log chunk_size) depth
      (the same steps and noise; equal to the scan within the solver's tolerance). It
      pays on GPUs; "auto" scans on a CPU and falls back to the scan where the parallel
      solve does not converge.

    **Returns:** with an accumulator, `accumulator.finalize(...)` per trial (leading
    `trial` axis); otherwise the recorded run `[trial, time, hidden]`.
    """
    owner = "drive"
    n_steps = _checks.positive_int(owner, "n_steps", n_steps)
    burn_in = _checks.positive_int(owner, "burn_in", burn_in, minimum=0)
    chunk_size = _checks.positive_int(owner, "chunk_size", chunk_size)
    n_trials = _checks.positive_int(owner, "n_trials", n_trials)
    if not isinstance(input_process, AbstractInputProcess):
        raise TypeError(
            f"{owner}: input_process must be an AbstractInputProcess (BinaryInput, "
            f"GaussianInput, ZeroInput), got {type(input_process).__name__}."
        )
    record_fn = _recorder(record)
    _checks.choice(owner, "time_solver", time_solver, METHODS)
    # Analyses never differentiate through a run: cut the graph at the parameters.
    dynamic, static = eqx.partition(model, eqx.is_array)
    model = eqx.combine(jax.lax.stop_gradient(dynamic), static)
    return _drive_jit(
        model, input_process, n_steps, burn_in, chunk_size, record_fn, accumulator, noise,
        jr.split(key, n_trials), time_solver,
    )


@eqx.filter_jit
def _drive_jit(model, process, n_steps, burn_in, chunk_size, record_fn, accumulator, noise, keys, solver):
    one = lambda k: _drive_trial(
        model, process, n_steps, burn_in, chunk_size, record_fn, accumulator, noise, k, solver
    )
    return jax.vmap(one)(keys)
