import os

import pytest

# The tests' own processes compile everything themselves: no persistent compilation cache
# here. jaxlib's CPU runtime segfaulted while deserializing a cached training program in a
# long-lived pytest worker (`compilation_cache.get_executable_and_time`, twice in the same
# slow test after a few hundred others), and a crashed worker loses its test. The short-lived
# subprocesses the sweep tests start (tests/sweep/sweep_helpers.py: CACHE_ENV) still share
# `.jax_cache` among themselves. Set NEURODYN_TEST_COMPILE_CACHE=1 to cache here as well.
if os.environ.get("NEURODYN_TEST_COMPILE_CACHE") == "1":
    import jax

    _CACHE = os.path.join(os.path.dirname(os.path.dirname(__file__)), ".jax_cache")
    jax.config.update("jax_compilation_cache_dir", _CACHE)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


@pytest.fixture
def getkey():
    """A fresh, deterministic key per call within a test."""
    import jax.random as jr

    counter = iter(range(10**6))
    return lambda: jr.key(next(counter))


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
    """Drop every compiled program after each test module.

    A pytest worker otherwise keeps every executable it ever loaded; after a few hundred
    tests, jaxlib's CPU runtime segfaulted while loading one more (twice while reading it
    from a persistent cache, once while compiling it). Keeping the loaded set per module
    bounds that; programs shared across modules are compiled again.
    """
    yield
    import jax

    jax.clear_caches()
