"""TrainConfig refuses what it cannot use, with the field named."""

import pytest

from neurodyn.train import TrainConfig


def test_noise_must_be_a_flag():
    with pytest.raises(TypeError, match="noise must be True, False or None"):
        TrainConfig(noise="yes")
    assert TrainConfig(noise=False).noise is False and TrainConfig().noise is None
