import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from sweep_helpers import make_reference_store  # noqa: E402


@pytest.fixture(scope="session")
def reference_store(tmp_path_factory):
    """An uninterrupted run of the small two-group sweep, made once per session."""
    return make_reference_store(tmp_path_factory)
