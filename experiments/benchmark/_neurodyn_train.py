"""neurodyn's side of the throughput and compile cases: compiled group and single programs.

A group of K members is trained by `Trainer.run` vmapped over stacked states
(`run_chunk_vmapped`), compiled ahead of time so that compilation is timed on its own and
the timed calls are steady state. One-after-another training calls the single-network
program (`run_chunk`) on each member in turn, reading the result back after every call
as `fit` does.
"""

import dataclasses
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from neurodyn.models import CTRNN
from neurodyn.tasks import FlipFlop
from neurodyn.train import TrainConfig, Trainer, member_mesh, run_chunk, run_chunk_vmapped
from neurodyn.train._members import devices_for, padded_size, shard_members

N_BITS = 3
TAU, DT = 1.0, 0.1  # dt / tau = 0.1, the leak the PyTorch references use
EVAL_TRIALS = 4  # held-out trials evaluated once per call (<= 2 % of a step's work)


def make_task(n_time: int) -> FlipFlop:
    return FlipFlop(n_bits=N_BITS, p=0.05, pulse_width=1, n_time=n_time)


def make_config(batch: int, steps_per_call: int, learning_rate: float = 1e-3) -> TrainConfig:
    return TrainConfig(
        optimizer="adam",
        learning_rate=learning_rate,
        batch_size=batch,
        n_steps=10**9,  # never done: every timed call trains
        eval_every=steps_per_call,
        eval_batch_size=EVAL_TRIALS,
        epochs_per_call=1,
    )


def make_model(hidden: int, *, key) -> CTRNN:
    return CTRNN(N_BITS, hidden, N_BITS, tau=TAU, dt=DT, key=key)


def member_states(trainer: Trainer, config: TrainConfig, task, hidden: int, members, *, seed: int, model_fn=make_model):
    """Single-network training states of `members` (member i is built from seed and i only)."""
    states = []
    for i in members:
        kmodel, ktrain = jr.split(jr.fold_in(jr.key(seed), i))
        states.append(trainer.init(model_fn(hidden, key=kmodel), task, config, key=ktrain))
    return states


def _stack_leaf(leaves):
    first = leaves[0]
    if jnp.issubdtype(first.dtype, jax.dtypes.prng_key):
        data = np.stack([np.asarray(jr.key_data(x)) for x in leaves])
        return jr.wrap_key_data(data, impl=jr.key_impl(first))
    return jnp.asarray(np.stack([np.asarray(x) for x in leaves]))


def stack(trees):
    """Stack pytrees along a new leading `member` axis (through numpy: no compilation)."""
    arrays = [eqx.filter(t, eqx.is_array) for t in trees]
    static = eqx.filter(trees[0], eqx.is_array, inverse=True)
    return eqx.combine(jax.tree_util.tree_map(lambda *xs: _stack_leaf(xs), *arrays), static)


@dataclasses.dataclass
class Program:
    """A compiled training call, the trainer it was compiled for, and how long that took."""

    trainer: Trainer
    compiled: object
    trace_s: float
    compile_s: float
    options: dict = dataclasses.field(default_factory=dict)

    def __call__(self, state):
        return self.compiled(self.trainer, state, **self.options)


def group_mesh(k: int, layout: str):
    """What a sweep does with a group of K: with the default layout, members padded to a
    multiple of the devices and split over all of them; "vmap" here means the layout
    before member mapping existed (all members vmapped on one device)."""
    if layout == "vmap":
        return k, None
    devices = devices_for(k, jax.devices())
    padded = padded_size(k, len(devices))
    return padded, member_mesh(devices)


def compile_program(trainer: Trainer, state, *, vmapped: bool, fresh: bool = False, layout: str = "auto", mesh=None) -> Program:
    """Trace and compile one training call ahead of time.

    `fresh` clears JAX's in-process caches first: a second lowering of the same
    function would otherwise be served from the trace cache and cost nothing.
    """
    if fresh:
        jax.clear_caches()
    fn = run_chunk_vmapped if vmapped else run_chunk
    options = {"layout": layout, "mesh": mesh} if vmapped else {}
    start = time.perf_counter()
    lowered = fn.lower(trainer, state, **options)
    traced = time.perf_counter()
    compiled = lowered.compile()
    done = time.perf_counter()
    return Program(trainer, compiled, traced - start, done - traced, options)


class Programs:
    """Compiled programs by size, shared by the cases of one run (each compiles once)."""

    def __init__(self, batch: int, n_time: int, steps_per_call: int, seed: int = 0):
        self.batch, self.n_time, self.steps_per_call, self.seed = batch, n_time, steps_per_call, seed
        self.task = make_task(n_time)
        self.config = make_config(batch, steps_per_call)
        # One trainer for every size: compiled programs are tied to its static fields.
        self.trainer = Trainer(self.config)
        self._groups: dict[tuple[int, int], Program] = {}
        self._singles: dict[int, Program] = {}
        self._states: dict[int, list] = {}

    def states(self, hidden: int, n: int) -> list:
        """The first `n` members' initial single states at this size (built once)."""
        have = self._states.setdefault(hidden, [])
        if len(have) < n:
            have.extend(
                member_states(
                    self.trainer, self.config, self.task, hidden, range(len(have), n),
                    seed=self.seed + hidden,
                )
            )
        return have[:n]

    def group_state(self, hidden: int, k: int, layout: str = "auto"):
        """The stacked (padded, sharded) initial state of a group of K, and its mesh."""
        padded, mesh = group_mesh(k, layout)
        return shard_members(stack(self.states(hidden, padded)), mesh), mesh

    def group(self, hidden: int, k: int, program: Program | None = None, layout: str = "auto") -> Program:
        if program is not None:
            self._groups[(hidden, k, layout)] = program
        if (hidden, k, layout) not in self._groups:
            state, mesh = self.group_state(hidden, k, layout)
            self._groups[(hidden, k, layout)] = compile_program(
                self.trainer, state, vmapped=True, layout=layout, mesh=mesh
            )
        return self._groups[(hidden, k, layout)]

    def single(self, hidden: int) -> Program:
        if hidden not in self._singles:
            self._singles[hidden] = compile_program(
                self.trainer, self.states(hidden, 1)[0], vmapped=False
            )
        return self._singles[hidden]


class GroupRun:
    """K members trained together: `calls` compiled calls per repeat."""

    def __init__(self, programs: Programs, hidden: int, k: int, calls: int, layout: str = "auto"):
        self.program = programs.group(hidden, k, layout=layout)
        self.state, _ = programs.group_state(hidden, k, layout)
        self.k = k
        self.calls = calls
        self.loss = None

    def warmup(self):
        jax.block_until_ready(self.program(self.state))

    def __call__(self):
        for _ in range(self.calls):
            self.state, logs = self.program(self.state)
        jax.block_until_ready((self.state, logs))
        self.loss = logs.loss

    def final_loss(self) -> float:
        return float(np.mean(np.asarray(self.loss)[: self.k, -1]))


class SequentialRun:
    """The same members trained one after another with the single-network program."""

    def __init__(self, programs: Programs, hidden: int, n_networks: int, calls: int):
        self.program = programs.single(hidden)
        self.states = list(programs.states(hidden, n_networks))
        self.calls = calls
        self.losses = [np.nan] * n_networks

    def warmup(self):
        jax.block_until_ready(self.program(self.states[0]))

    def __call__(self):
        for i, state in enumerate(self.states):
            for _ in range(self.calls):
                state, logs = self.program(state)
                # one host read per call, as `fit` reads each call's log
                self.losses[i] = float(logs.loss[-1])
            self.states[i] = state

    def final_loss(self) -> float:
        return float(np.mean(self.losses))
