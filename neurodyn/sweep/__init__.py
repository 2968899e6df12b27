"""Sweeps: a spec expanded into members, grouped, trained vmapped, written to a store."""

from ._plan import Plan as Plan, plan_sweep as plan_sweep
from ._run import SweepResult as SweepResult, members_table as members_table, run_sweep as run_sweep
