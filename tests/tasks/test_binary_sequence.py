"""N-parity and N-DMS: labels by brute force, length and digit statistics, heads, padding."""

import itertools

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from neurodyn.tasks import DelayedMatchToSample, Parity

Z = 5.0  # z-score bound of every Monte-Carlo check below


def _all_sequences(length):
    return np.array(list(itertools.product([0.0, 1.0], repeat=length)))


@pytest.mark.parametrize("cls", [Parity, DelayedMatchToSample])
def test_labels_by_enumeration(cls):
    task = cls(3, n_cap=4)
    labels_of = jax.jit(jax.vmap(task.labels, in_axes=(0, None)))
    for m in range(2, 9):
        xs = _all_sequences(m)
        padded = np.zeros((len(xs), task.n_time))
        padded[:, :m] = xs
        labels = np.asarray(labels_of(jnp.asarray(padded), jnp.int32(m)))
        for x, label in zip(xs, labels):
            for n in range(task.smallest_n, min(task.n_cap, m) + 1):
                if cls is Parity:
                    expected = int(x[m - n : m].sum()) % 2
                else:
                    expected = int(x[m - n] == x[m - 1])
                assert label[n - 1] == expected, (x, n)


@pytest.mark.parametrize("cls", [Parity, DelayedMatchToSample])
@pytest.mark.parametrize("heads", ["single", "multi"])
def test_sampled_targets_match_inputs(cls, heads):
    task = cls(3, n_cap=5, heads=heads)
    for seed in range(4):
        trials = task.sample_batch(64, key=jr.key(seed))
        x = np.asarray(trials.inputs[..., 0])
        mask, targets = np.asarray(trials.mask), np.asarray(trials.targets)
        for b in range(x.shape[0]):
            steps = np.flatnonzero(targets[b].sum(1))
            assert len(steps) == 1
            m = steps[0] + 1
            assert np.all(x[b, m:] == 0) and np.all(mask[b, m:] == 0) and np.all(mask[b, : m - 1] == 0)
            heads_n = [3] if heads == "single" else range(1, 6)
            for k, n in enumerate(heads_n):
                label = int(x[b, m - n : m].sum()) % 2 if cls is Parity else int(x[b, m - n] == x[b, m - 1])
                if n <= m:
                    assert targets[b, m - 1, 2 * k + label] == 1.0
                trained = heads == "single" or (task.smallest_n <= n <= 3)
                assert mask[b, m - 1, 2 * k] == mask[b, m - 1, 2 * k + 1] == float(trained)


def _conditions(task, n, seed):
    return eqx.filter_jit(lambda t, k: jax.vmap(lambda k: t.sample_condition(key=k))(k))(
        task, jr.split(jr.key(seed), n)
    )


def _trials_of_length(task, m, n, seed):
    return eqx.filter_jit(lambda t, k: jax.vmap(lambda k: t.sample(key=k, condition=m))(k))(
        task, jr.split(jr.key(seed), n)
    )


def test_length_drawn_once_per_batch_in_range():
    task = Parity(4, n_cap=6)
    lengths = np.asarray(_conditions(task, 24_000, 0))
    low, high = 4 + 2, 4 * 4 + 2
    assert lengths.min() == low and lengths.max() == high - 1
    counts = np.bincount(lengths - low, minlength=high - low)
    p = 1 / (high - low)
    z = (counts - len(lengths) * p) / np.sqrt(len(lengths) * p * (1 - p))
    assert np.all(np.abs(z) < Z), z
    trials = task.sample_batch(32, key=jr.key(1))
    response = np.asarray(trials.targets.sum(-1).argmax(-1))
    assert np.all(response == response[0])  # one length per batch


def test_parity_digit_probability_is_uniform_per_sequence():
    # p ~ U(0, 1) then x ~ Bernoulli(p): the number of ones among M digits is uniform on 0 … M.
    task = Parity(2, n_cap=2)
    m, n_seq = 9, 20_000
    trials = _trials_of_length(task, jnp.int32(m), n_seq, 2)
    ones = np.asarray(trials.inputs[:, :m, 0].sum(1)).astype(int)
    counts = np.bincount(ones, minlength=m + 1)
    p = 1 / (m + 1)
    z = (counts - n_seq * p) / np.sqrt(n_seq * p * (1 - p))
    assert np.all(np.abs(z) < Z), z


def test_dms_digits_are_fair_coins():
    task = DelayedMatchToSample(2, n_cap=2)
    n_seq, m = 4000, 9
    trials = _trials_of_length(task, jnp.int32(m), n_seq, 3)
    x = np.asarray(trials.inputs[:, :m, 0])
    z = (x.mean() - 0.5) / np.sqrt(0.25 / x.size)
    assert abs(z) < Z
    labels = np.asarray(trials.targets[:, m - 1, 1])  # class 1 = match
    assert abs((labels.mean() - 0.5) / np.sqrt(0.25 / n_seq)) < Z


def test_padding_waste_at_small_n():
    task = Parity(2, n_cap=12)
    assert task.n_time == 49
    assert float(task.padding_fraction()) == pytest.approx(1 - 6.5 / 49)  # 86.7 %
    lengths = _conditions(task, 20_000, 4)
    measured = 1 - np.mean(np.asarray(lengths)) / task.n_time
    assert measured == pytest.approx(float(task.padding_fraction()), abs=0.01)
    # a bucket of the right size for n = 2 wastes far less
    bucket = Parity(2, n_cap=12, n_time=9)
    assert float(bucket.padding_fraction()) == pytest.approx(1 - 6.5 / 9)


def test_ood_doubles_the_length_range():
    task = DelayedMatchToSample(3, n_cap=4)
    ood = task.ood()
    low, high = ood.length_range()
    assert (int(low), int(high)) == (10, 28)
    assert ood.n_time == 2 * (4 * 4 + 2) - 1
    lengths = _conditions(ood, 2000, 5)
    assert int(lengths.min()) >= 10 and int(lengths.max()) <= 27


def test_metric_and_head_accuracy():
    metric = eqx.filter_jit(lambda t, y, tr: jax.vmap(t.metric)(y, tr))
    heads = eqx.filter_jit(lambda t, y, tr: jax.vmap(t.head_accuracy)(y, tr).mean(0))
    task = Parity(3, n_cap=4, heads="multi")
    trials = task.sample_batch(16, key=jr.key(6))
    perfect = 10.0 * (2 * trials.targets - 1)
    assert np.all(np.asarray(metric(task, perfect, trials)) == 1.0)
    wrong = -perfect
    assert np.all(np.asarray(metric(task, wrong, trials)) == 0.0)
    # flip head 1 (N = 2) only: metric 2/3 over the trained heads N = 1, 2, 3
    half = perfect.at[..., 2:4].set(wrong[..., 2:4])
    np.testing.assert_allclose(metric(task, half, trials), 2 / 3, rtol=1e-6)
    acc = heads(task, half, trials)
    np.testing.assert_array_equal(acc, [1.0, 0.0, 1.0, 1.0])
    mean, largest = task.stage_accuracy(acc)
    assert float(mean) == pytest.approx(2 / 3) and float(largest) == 1.0
    single = Parity(3, n_cap=4)
    trials = single.sample_batch(8, key=jr.key(7))
    acc = heads(single, 10.0 * (2 * trials.targets - 1), trials)
    np.testing.assert_array_equal(acc, [0.0, 0.0, 1.0, 0.0])
    np.testing.assert_array_equal(single.trained, [False, False, True, False])


def test_curriculum_moves_n_and_active_without_recompiling():
    traces = []

    @eqx.filter_jit
    def batch(task, key):
        traces.append(1)
        return task.sample_batch(8, key=key)

    task = DelayedMatchToSample(2, n_cap=6, heads="multi")
    first = batch(task, jr.key(0))
    assert float(first.mask.sum()) == 8 * 2  # only N = 2 trained
    window = jnp.array([False, False, True, True, False, False])
    later = eqx.tree_at(lambda t: (t.n, t.active), task, (jnp.int32(4), window))
    trials = batch(later, jr.key(1))
    assert len(traces) == 1
    assert float(trials.mask.sum()) == 8 * 2 * 2  # N = 3, 4
    response = int(trials.targets[0].sum(-1).argmax())
    assert 4 + 2 <= response + 1 < 4 * 4 + 2


def test_vmap_over_stacked_tasks():
    tasks = [Parity(n, n_cap=5, heads="multi") for n in (2, 3, 5)]
    stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *tasks)
    keys = jr.split(jr.key(8), 3)
    out = eqx.filter_jit(eqx.filter_vmap(lambda t, k: t.sample_batch(4, key=k)))(stacked, keys)
    for i, t in enumerate(tasks):
        single = t.sample_batch(4, key=keys[i])
        np.testing.assert_array_equal(out.targets[i], single.targets)
        np.testing.assert_array_equal(out.mask[i], single.mask)
    built = eqx.filter_vmap(lambda n: Parity(n, n_cap=5))(jnp.array([2, 3, 4]))
    np.testing.assert_array_equal(built.n, [2, 3, 4])
    assert built.active.shape == (3, 5)
    direct = Parity(np.array([2, 3, 5]), n_cap=5, heads="multi")
    assert direct.active.shape == (3, 5)
    out = eqx.filter_jit(eqx.filter_vmap(lambda t, k: t.sample_batch(4, key=k)))(direct, keys)
    for i, t in enumerate(tasks):
        np.testing.assert_array_equal(out.mask[i], t.sample_batch(4, key=keys[i]).mask)
