import jax.numpy as jnp
import numpy as np
import pytest

from neurodyn.train import (
    l1_penalty,
    l2_penalty,
    masked_cross_entropy,
    masked_mse,
    nuclear_penalty,
    rate_penalty,
)


def test_masked_mse_counts_only_masked_entries():
    out = jnp.array([[[1.0, 2.0], [3.0, 4.0]]])
    tgt = jnp.array([[[0.0, 0.0], [0.0, 100.0]]])
    mask = jnp.array([[[1.0, 1.0], [1.0, 0.0]]])
    # (1 + 4 + 9) / 3
    assert float(masked_mse(out, tgt, mask)) == pytest.approx(14.0 / 3.0)


def test_masked_mse_empty_mask_is_zero():
    out = jnp.ones((2, 3, 1))
    assert float(masked_mse(out, jnp.zeros_like(out), jnp.zeros_like(out))) == 0.0


def test_masked_cross_entropy_against_numpy():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 5, 4)).astype(np.float32)  # two heads of two classes
    labels = rng.integers(0, 2, size=(3, 5, 2))
    targets = np.zeros_like(logits)
    for h in range(2):
        targets[..., 2 * h] = labels[..., h] == 0
        targets[..., 2 * h + 1] = labels[..., h] == 1
    head_mask = rng.integers(0, 2, size=(3, 5, 2)).astype(np.float32)
    mask = np.repeat(head_mask, 2, axis=-1)
    expected_sum, count = 0.0, 0.0
    for b in range(3):
        for t in range(5):
            for h in range(2):
                z = logits[b, t, 2 * h : 2 * h + 2].astype(np.float64)
                logp = z - np.log(np.exp(z).sum())
                expected_sum += head_mask[b, t, h] * -logp[labels[b, t, h]]
                count += head_mask[b, t, h]
    got = masked_cross_entropy(jnp.asarray(logits), jnp.asarray(targets), jnp.asarray(mask), n_classes=2)
    assert float(got) == pytest.approx(expected_sum / count, rel=1e-5)


def test_penalties_against_hand_values():
    w = {"W_rec": jnp.array([[3.0, -4.0], [0.0, 0.0]])}
    assert float(l1_penalty(w)) == pytest.approx(7.0)
    assert float(l2_penalty(w)) == pytest.approx(25.0)
    # singular values of [[3,-4],[0,0]] are 5 and 0
    assert float(nuclear_penalty(w)) == pytest.approx(5.0, rel=1e-6)
    assert float(rate_penalty(jnp.full((2, 3, 4), 2.0))) == pytest.approx(4.0)
