import os

import pytest

# The default suite is bound by compilation, not by running: a test compiles a few dozen
# small programs and runs each for milliseconds. XLA's CPU backend spends most of a compile
# in LLVM's optimiser, which `--xla_backend_optimization_level=0` skips while XLA's own HLO
# passes (fusion, layout, simplification) still run, so the programs compute the same
# operations. They agree to rounding, not bit for bit (LLVM's optimiser contracts
# multiply-adds and vectorises sums): ELK on expanding Jacobians, ill-conditioned, took 317
# iterations optimised and 379 here, both to the scan's trajectory within 3e-13. Measured
# on 2-core machines: five of the heaviest test files took 203 s with full optimisation and
# 121 s without; `make test` 7 min 50 s and 5 min 31 s. Every test process and the
# subprocesses it starts (they inherit the environment) compile this way; `make bench`,
# users and `make test-slow` (its long training runs are bound by running; it sets
# NEURODYN_TEST_XLA_OPT=1) do not. Set NEURODYN_TEST_XLA_OPT=1 to test fully optimised
# programs, or set XLA_FLAGS yourself to choose.
if os.environ.get("NEURODYN_TEST_XLA_OPT") != "1" and "XLA_FLAGS" not in os.environ:
    os.environ["XLA_FLAGS"] = "--xla_backend_optimization_level=0"

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
