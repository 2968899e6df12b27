"""Sweeps: a spec expanded into members, grouped, trained vmapped, written to a store."""

from ._executors import JobsFailedError as JobsFailedError
from ._plan import Plan as Plan
from ._plan import plan_sweep as plan_sweep
from ._run import SweepResult as SweepResult
from ._run import members_table as members_table
from ._run import run_sweep as run_sweep
