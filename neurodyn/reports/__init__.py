"""`report(store)`: one static HTML page for a sweep store (members, training curves,
every analysis with its figures, the spec)."""

from ._page import GENERATOR as GENERATOR
from ._page import report as report
