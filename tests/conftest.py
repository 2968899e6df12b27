import os

import jax
import pytest

# A persistent compilation cache keeps a 2-core suite fast across runs.
_CACHE = os.path.join(os.path.dirname(os.path.dirname(__file__)), ".jax_cache")
jax.config.update("jax_compilation_cache_dir", _CACHE)
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


@pytest.fixture
def getkey():
    """A fresh, deterministic key per call within a test."""
    import jax.random as jr

    counter = iter(range(10**6))
    return lambda: jr.key(next(counter))
