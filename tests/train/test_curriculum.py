import io

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import neurodyn
from neurodyn import models, tasks
from neurodyn._types import Trajectory
from neurodyn.train import (
    TRACE_COUNTS,
    CurriculumState,
    MultiHeadCurriculum,
    SingleHeadCurriculum,
    SlidingWindowCurriculum,
    TrainConfig,
    accuracy_by_n,
)
from neurodyn.train._fit import run_chunk_vmapped
from neurodyn.train._group import fit_group, group_trainer, histories_from_logs, init_group

NAN = np.nan


def _started(curriculum, task):
    task = curriculum.start(task)
    return curriculum.init(task), task


def _acc(*values):
    return jnp.asarray(values, jnp.float32)


# -- construction and task checks ---------------------------------------------------


@pytest.mark.parametrize(
    "build, error, match",
    [
        (
            lambda: MultiHeadCurriculum(start_n=0),
            ValueError,
            "start_n must be an integer >= 1, got 0",
        ),
        (lambda: MultiHeadCurriculum(start_n=2.0), TypeError, "start_n must be an integer"),
        (
            lambda: MultiHeadCurriculum(start_n=3, n_cap=2),
            ValueError,
            "n_cap must be an integer >= 3, got 2",
        ),
        (
            lambda: SingleHeadCurriculum(threshold=1.0),
            ValueError,
            r"threshold=1.0 is outside the allowed range \[0, 1\)",
        ),
        (lambda: SingleHeadCurriculum(threshold=-0.1), ValueError, "threshold=-0.1 is outside"),
        (
            lambda: SingleHeadCurriculum(threshold="high"),
            TypeError,
            "threshold must be a number in",
        ),
        (
            lambda: MultiHeadCurriculum(eval_batch_size=0),
            ValueError,
            "eval_batch_size must be an integer >= 1",
        ),
        (
            lambda: SlidingWindowCurriculum(width=0),
            ValueError,
            "width must be an integer >= 1, got 0",
        ),
    ],
)
def test_bad_arguments_raise(build, error, match):
    with pytest.raises(error, match=match):
        build()


@pytest.mark.parametrize(
    "curriculum, task, error, match",
    [
        (
            MultiHeadCurriculum(),
            tasks.Parity(2, n_cap=4),
            ValueError,
            "heads='single', this curriculum needs heads='multi'",
        ),
        (
            SingleHeadCurriculum(),
            tasks.Parity(2, n_cap=4, heads="multi"),
            ValueError,
            "needs heads='single'",
        ),
        (
            MultiHeadCurriculum(n_cap=5),
            tasks.Parity(2, n_cap=4, heads="multi"),
            ValueError,
            "n_cap=5 exceeds the task's n_cap=4",
        ),
        (
            SingleHeadCurriculum(start_n=1),
            tasks.DelayedMatchToSample(2, n_cap=4),
            ValueError,
            r"start_n=1 is outside \[2, 4\]",
        ),
        (
            SingleHeadCurriculum(),
            tasks.Parity(2, n_cap=4, n_time=12),
            ValueError,
            "n_time=12 is too short for N=4",
        ),
        (SingleHeadCurriculum(), tasks.FlipFlop(n_bits=1), TypeError, r"has no \['n', 'active'"),
    ],
)
def test_tasks_that_do_not_fit_raise(curriculum, task, error, match):
    with pytest.raises(error, match=match):
        curriculum.start(task)


def test_fit_and_fit_group_pass_the_curriculum_on():
    task = tasks.Parity(2, n_cap=3)
    model = models.VanillaRNN(1, 4, task.output_size, key=jr.key(0))
    with pytest.raises(ValueError, match="needs heads='multi'"):
        neurodyn.fit(model, task, TrainConfig(), key=jr.key(1), curriculum=MultiHeadCurriculum())
    with pytest.raises(ValueError, match="needs heads='multi'"):
        fit_group([model], task, TrainConfig(), keys=[jr.key(1)], curriculum=MultiHeadCurriculum())


def test_start_sets_n_and_the_trained_set():
    cstate, task = _started(MultiHeadCurriculum(start_n=3), tasks.Parity(5, n_cap=5, heads="multi"))
    assert int(task.n) == 3 and task.n.dtype == jnp.int32
    np.testing.assert_array_equal(task.active, [False, False, True, True, True])
    np.testing.assert_array_equal(task.trained, [False, False, True, False, False])
    np.testing.assert_array_equal(cstate.reached, [-1, -1, 0, -1, -1])
    assert int(cstate.epoch) == 0 and not bool(cstate.finished) and int(cstate.finished_epoch) == -1
    assert float(cstate.threshold) == pytest.approx(0.98)


# -- the advance rule on hand-made accuracies -----------------------------------------


def test_multi_head_advances_only_when_mean_and_largest_both_exceed():
    cur = MultiHeadCurriculum(threshold=0.9)
    cstate, task = _started(cur, tasks.Parity(2, n_cap=4, heads="multi"))
    # N = 2 alone: 0.95 > 0.9 for mean and largest; untrained N do not count
    cstate, task, fin = cur.advance(cstate, task, _acc(0.0, 0.95, 0.0, 0.0))
    assert int(task.n) == 3 and not bool(fin)
    np.testing.assert_array_equal(cstate.accuracy, np.float32([NAN, 0.95, NAN, NAN]))
    np.testing.assert_array_equal(cstate.reached, [-1, 0, 1, -1])
    np.testing.assert_array_equal(task.trained, [False, True, True, False])
    # trained {2, 3}: mean passes (0.925) but largest fails (0.88)
    cstate, task, fin = cur.advance(cstate, task, _acc(1.0, 0.97, 0.88, 1.0))
    assert int(task.n) == 3
    # largest passes (1.0) but mean fails (0.85)
    cstate, task, fin = cur.advance(cstate, task, _acc(1.0, 0.7, 1.0, 1.0))
    assert int(task.n) == 3
    # exactly at the threshold is not above it
    cstate, task, fin = cur.advance(cstate, task, _acc(0.0, 0.9, 0.9, 0.0))
    assert int(task.n) == 3
    # both pass: advance to the cap at the end of epoch 5
    cstate, task, fin = cur.advance(cstate, task, _acc(0.0, 0.92, 0.99, 0.0))
    assert int(task.n) == 4 and int(cstate.n) == 4 and not bool(fin)
    np.testing.assert_array_equal(cstate.reached, [-1, 0, 1, 5])
    np.testing.assert_array_equal(task.active, [False, True, True, True])
    # at the cap a pass finishes instead of advancing
    cstate, task, fin = cur.advance(cstate, task, _acc(0.0, 0.95, 0.95, 0.95))
    assert bool(fin) and bool(cstate.finished) and int(task.n) == 4
    assert int(cstate.finished_epoch) == 6 and int(cstate.epoch) == 6
    # a finished curriculum stays finished and keeps its finishing epoch
    cstate, task, fin = cur.advance(cstate, task, _acc(0.0, 0.0, 0.0, 0.0))
    assert bool(fin) and int(cstate.finished_epoch) == 6 and int(task.n) == 4


def test_curriculum_cap_below_the_task_cap():
    cur = SingleHeadCurriculum(n_cap=3, threshold=0.5)
    cstate, task = _started(cur, tasks.Parity(2, n_cap=6))
    cstate, task, fin = cur.advance(cstate, task, _acc(0, 1, 0, 0, 0, 0))
    cstate, task, fin = cur.advance(cstate, task, _acc(0, 0, 1, 0, 0, 0))
    assert int(task.n) == 3 and bool(fin) and int(cstate.finished_epoch) == 2


def test_single_head_trains_only_the_current_n():
    cur = SingleHeadCurriculum(threshold=0.9)
    cstate, task = _started(cur, tasks.DelayedMatchToSample(3, n_cap=4))
    assert int(task.n) == 2
    cstate, task, _ = cur.advance(cstate, task, _acc(0.0, 0.95, 0.0, 0.0))
    np.testing.assert_array_equal(task.trained, [False, False, True, False])
    # the old N no longer counts: 0.0 at N = 2 does not hold N = 3 back
    cstate, task, _ = cur.advance(cstate, task, _acc(0.0, 0.0, 0.95, 0.0))
    assert int(task.n) == 4
    np.testing.assert_array_equal(cstate.accuracy, np.float32([NAN, NAN, 0.95, NAN]))
    np.testing.assert_array_equal(cstate.reached, [-1, 0, 1, 2])
    assert task.heads == "single" and task.output_size == 2


def test_sliding_window_drops_the_oldest_n():
    cur = SlidingWindowCurriculum(width=2, threshold=0.9)
    cstate, task = _started(cur, tasks.Parity(2, n_cap=5, heads="multi"))
    np.testing.assert_array_equal(task.trained, [False, True, False, False, False])
    cstate, task, _ = cur.advance(cstate, task, _acc(0, 1, 0, 0, 0))
    np.testing.assert_array_equal(task.trained, [False, True, True, False, False])
    cstate, task, _ = cur.advance(cstate, task, _acc(0, 1, 1, 0, 0))
    np.testing.assert_array_equal(task.trained, [False, False, True, True, False])
    # N = 2 has left the window: forgetting it does not block the advance to 5
    cstate, task, _ = cur.advance(cstate, task, _acc(0, 0, 1, 1, 0))
    assert int(task.n) == 5
    np.testing.assert_array_equal(task.trained, [False, False, False, True, True])
    np.testing.assert_array_equal(cstate.reached, [-1, 0, 1, 2, 3])
    trials = task.sample_batch(4, key=jr.key(0))
    heads_on = np.asarray(trials.mask.sum(axis=(0, 1))).reshape(5, 2)[:, 0]
    np.testing.assert_array_equal(heads_on, [0, 0, 0, 4, 4])


# -- members advance independently, without recompiling ------------------------------


class _Skill(eqx.Module):
    skill: jax.Array  # 1: always right, 0: always wrong


def _oracle_forward(model, trials, *, key=None):
    logits = (2 * model.skill - 1) * (2 * trials.targets - 1)
    return Trajectory(state=logits, output=logits)


def test_vmapped_members_advance_on_their_own_schedules():
    cur = MultiHeadCurriculum(eval_batch_size=16)
    traces = []

    @eqx.filter_jit
    def epoch(cstate, task, model, key):
        traces.append(1)
        return eqx.filter_vmap(lambda c, t, m, k: cur.update(c, t, m, _oracle_forward, key=k))(
            cstate, task, model, key
        )

    pairs = [_started(cur, tasks.Parity(2, n_cap=4, heads="multi")) for _ in range(2)]
    cstate = jax.tree.map(lambda *x: jnp.stack(x), *[p[0] for p in pairs])
    task = jax.tree.map(lambda *x: jnp.stack(x), *[p[1] for p in pairs])
    model = _Skill(skill=jnp.array([1.0, 0.0]))
    for e in range(4):
        cstate, task, fin = epoch(cstate, task, model, jr.split(jr.key(e), 2))
    assert len(traces) == 1
    np.testing.assert_array_equal(task.n, [4, 2])
    np.testing.assert_array_equal(fin, [True, False])
    np.testing.assert_array_equal(cstate.reached, [[-1, 0, 1, 2], [-1, 0, -1, -1]])
    np.testing.assert_array_equal(cstate.finished_epoch, [3, -1])
    np.testing.assert_array_equal(cstate.accuracy, [[NAN, 1, 1, 1], [NAN, 0, NAN, NAN]])


@pytest.fixture(scope="module")
def trained_group():
    """Two tiny members in the real trainer: one advances every epoch, one never."""
    task = tasks.Parity(2, n_cap=4, heads="multi")
    nets = [models.VanillaRNN(1, 6, task.output_size, key=jr.key(i)) for i in range(2)]
    config = TrainConfig(batch_size=4, n_steps=8, eval_every=2, eval_batch_size=4)
    trainer = group_trainer([config] * 2, nets, curriculum=MultiHeadCurriculum(eval_batch_size=8))
    states = init_group(trainer, nets, [task] * 2, [config] * 2, [jr.key(5), jr.key(6)])
    # per-member thresholds: 0 advances whenever any answer is right; 1 never advances
    states = eqx.tree_at(lambda s: s.curriculum.threshold, states, jnp.array([0.0, 1.0]))
    before = TRACE_COUNTS["vmapped"]
    logs, snapshots = [], []
    for _ in range(config.n_epochs):
        snapshots.append(states)
        states, log = run_chunk_vmapped(trainer, states)
        logs.append(log)
    return trainer, states, snapshots, logs, config, TRACE_COUNTS["vmapped"] - before


def test_trainer_advances_members_independently_without_recompiling(trained_group):
    trainer, states, _, logs, config, traces = trained_group
    assert traces == 1
    np.testing.assert_array_equal(states.task.n, [4, 2])
    np.testing.assert_array_equal(states.curriculum.reached, [[-1, 0, 1, 2], [-1, 0, -1, -1]])
    np.testing.assert_array_equal(states.curriculum.finished_epoch, [3, -1])
    np.testing.assert_array_equal(states.done, [True, True])  # finished; budget spent
    np.testing.assert_array_equal(states.step, [6, 8])
    hist = histories_from_logs(logs, states, config)
    assert int(hist[0].curriculum.n) == 4 and int(hist[1].curriculum.n) == 2
    np.testing.assert_array_equal(hist[0].curriculum.reached, [-1, 0, 1, 2])
    assert isinstance(hist[0].curriculum, CurriculumState)


def test_held_out_trials_are_redrawn_when_a_member_advances(trained_group):
    _, states, snapshots, _, _, _ = trained_group
    first = snapshots[0].eval_trials
    # member 1 never advanced: its held-out trials are the ones drawn at init
    for a, b in zip(jax.tree.leaves(states.eval_trials), jax.tree.leaves(first)):
        np.testing.assert_array_equal(a[1], b[1])
    # member 0 advanced after epochs 1 and 2 (to N = 3, 4): a new draw each time, masked for its stage
    for e in (1, 2):
        before, after = snapshots[e - 1].eval_trials, snapshots[e].eval_trials
        assert int(snapshots[e].task.n[0]) == 2 + e
        assert not np.array_equal(before.inputs[0], after.inputs[0])
        # the multi-head mask (outputs 2k, 2k+1 for N = k + 1) marks exactly N = 2 … n
        mask = np.asarray(after.mask[0])  # [batch, time, 2 n_cap]
        heads = mask.reshape(*mask.shape[:2], 4, 2).any(axis=(0, 1, 3))
        np.testing.assert_array_equal(heads, (np.arange(1, 5) >= 2) & (np.arange(1, 5) <= 2 + e))


def test_curriculum_state_survives_a_checkpoint_round_trip(trained_group):
    trainer, _, snapshots, _, _, _ = trained_group
    mid = snapshots[2]  # member 0 at N = 4, member 1 at N = 2
    buffer = io.BytesIO()
    eqx.tree_serialise_leaves(buffer, (mid.curriculum, mid.task))
    buffer.seek(0)
    like = (snapshots[0].curriculum, snapshots[0].task)
    cstate, task = eqx.tree_deserialise_leaves(buffer, like)
    for a, b in zip(jax.tree.leaves((cstate, task)), jax.tree.leaves((mid.curriculum, mid.task))):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype
    resumed = eqx.tree_at(lambda s: (s.curriculum, s.task), mid, (cstate, task))
    a, _ = run_chunk_vmapped(trainer, resumed)
    b, _ = run_chunk_vmapped(trainer, mid)
    for x, y in zip(jax.tree.leaves(a.curriculum), jax.tree.leaves(b.curriculum)):
        np.testing.assert_array_equal(x, y)


# -- accuracy at every N (forgetting) --------------------------------------------------


class _ParityOracle(eqx.Module):
    """Answers every N at every step exactly (head k: parity of the last k + 1 digits)."""

    n_cap: int = eqx.field(static=True)
    answer_n: int | None = eqx.field(static=True)  # single head answering this N
    flip: jax.Array  # True: every answer wrong

    def __call__(self, inputs, *, key=None):
        x = inputs[:, 0]
        counts = jnp.concatenate([jnp.zeros(1), jnp.cumsum(x)])
        t = jnp.arange(x.shape[0])[:, None]
        k = jnp.arange(1, self.n_cap + 1)[None, :]
        label = (counts[t + 1] - counts[jnp.maximum(t + 1 - k, 0)]).astype(jnp.int32) % 2
        label = jnp.where(self.flip, 1 - label, label)
        if self.answer_n is not None:
            label = label[:, self.answer_n - 1 : self.answer_n]
        out = jax.nn.one_hot(label, 2).reshape(x.shape[0], -1)
        return Trajectory(state=out, output=out)


def test_accuracy_by_n_is_exact_for_oracles():
    multi = tasks.Parity(2, n_cap=4, heads="multi")
    acc = accuracy_by_n(_ParityOracle(4, None, jnp.array(False)), multi, 64, key=jr.key(0))
    np.testing.assert_array_equal(acc, [1, 1, 1, 1])
    acc = accuracy_by_n(_ParityOracle(4, None, jnp.array(True)), multi, 64, key=jr.key(0))
    np.testing.assert_array_equal(acc, [0, 0, 0, 0])
    single = tasks.Parity(4, n_cap=4)
    acc = np.asarray(
        accuracy_by_n(_ParityOracle(4, 2, jnp.array(False)), single, 256, key=jr.key(1))
    )
    assert acc[1] == 1.0
    # the N = 2 answer agrees with the N = 1 and N = 3 labels when one digit is 0
    # (E[1 - p] = 1/2, p ~ U(0, 1)) and with N = 4 when two digits have equal parity
    # (E[p² + (1 - p)²] = 2/3); 256 trials: std <= 0.032, bound 0.15 (> 4.5 sigma)
    np.testing.assert_allclose(acc[[0, 2, 3]], [1 / 2, 1 / 2, 2 / 3], atol=0.15)
    dms = tasks.DelayedMatchToSample(2, n_cap=3, heads="multi")
    acc = accuracy_by_n(_ParityOracle(3, None, jnp.array(False)), dms, 8, key=jr.key(2))
    assert np.isnan(acc[0]) and acc.shape == (3,)


# -- a real network (slow) --------------------------------------------------------------


@pytest.mark.slow
def test_multi_head_leaky_rnn_reaches_n3_on_parity():
    task = tasks.Parity(2, n_cap=3, heads="multi")
    model = models.LeakyRateRNN(1, 32, task.output_size, key=jr.key(0))
    config = TrainConfig(
        optimizer="adam",
        learning_rate=3e-3,
        grad_clip=2.0,
        batch_size=64,
        n_steps=3000,
        eval_every=50,
        eval_batch_size=64,
        epochs_per_call=5,
    )
    trained, hist = neurodyn.fit(
        model, task, config, key=jr.key(1), curriculum=MultiHeadCurriculum()
    )
    c = hist.curriculum
    assert int(c.n) == 3 and bool(c.finished) and hist.done
    assert c.reached[2] > 0 and c.finished_epoch > c.reached[2]
    acc = np.asarray(accuracy_by_n(trained, task, 512, key=jr.key(2)))
    assert acc[1] > 0.95 and acc[2] > 0.95
