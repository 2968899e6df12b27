"""The host loop every trainer shares: compiled calls until the budget or the stop."""

import dataclasses
import math
from collections.abc import Callable, Iterator

import numpy as np

from ._trainer import Logs, Trainer, TrainState


@dataclasses.dataclass
class Call:
    """What the host sees after one compiled call: its index (from 0), the states and
    logs it returned, and host copies of the stop flags (one per member, or scalars)."""

    index: int
    states: TrainState
    logs: Logs
    done: np.ndarray
    diverged: np.ndarray


def n_calls(trainer: Trainer, n_epochs: int) -> int:
    """Compiled calls that cover `n_epochs` epochs at `trainer.epochs_per_call` each."""
    return math.ceil(n_epochs / trainer.epochs_per_call)


def host(x) -> np.ndarray:
    """`x` on the host, gathered shard by shard: no program runs on the devices.

    Every program that spans the member mesh and needs a collective (an eager `jnp.all`, a
    slice or an index across shards) makes each device wait for the others; with more
    simulated CPU devices than cores, XLA's CPU runtime was seen to leave one of them
    unscheduled and the sweep stalled. The host loop therefore only reads shards.
    """
    return np.asarray(x)


def train_calls(
    run: Callable[[TrainState], tuple[TrainState, Logs]],
    states: TrainState,
    *,
    n_calls: int,
    start: int = 0,
) -> Iterator[Call]:
    """Run `run` (one compiled call: `epochs_per_call` epochs of chunked scans, the
    evaluation and the stopping rule) from call `start` until call `n_calls`, or until
    every member is done (stopped or at its budget) or diverged; yield each `Call`.

    `fit`, `fit_group` and a sweep's regions are this loop with their own bookkeeping
    (curves, progress, checkpoints) around each yielded call.
    """
    done, diverged = host(states.done), host(states.diverged)
    for index in range(start, n_calls):
        if bool(np.all(done | diverged)):
            return
        states, logs = run(states)
        done, diverged = host(states.done), host(states.diverged)
        yield Call(index, states, logs, done, diverged)
