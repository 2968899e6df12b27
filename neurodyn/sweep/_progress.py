"""Live progress of a sweep: one bar per group, with steps, ETA and member outcomes."""

import numpy as np


class SweepProgress:
    """A rich progress display; silent when `enabled` is False."""

    def __init__(self, plan, *, enabled: bool = True, console=None):
        self.plan = plan
        self.enabled = enabled
        self.console = console
        self._bar = None
        self._tasks = {}
        self._counts = {}

    def __enter__(self):
        if not self.enabled:
            return self
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("steps"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[outcome]}"),
            console=self.console,
        )
        self._bar.start()
        for g in self.plan.groups:
            n_steps = self._steps_per_member(g)
            total = n_steps * len(g.members)
            desc = f"{g.name} ({len(g.members)} members, {g.description})"
            self._tasks[g.name] = self._bar.add_task(desc, total=total, outcome="")
            self._counts[g.name] = {"done_steps": 0, "diverged": 0, "converged": 0, "regions": 0}
        return self

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.stop()
        return False

    def _steps_per_member(self, g) -> int:
        from ..train import train_config

        config = train_config(self.plan.members[g.members[0]].train)
        return config.n_epochs * config.eval_every

    def skip(self, g, region):
        if self._bar is None:
            return
        n = region.stop - region.start
        c = self._counts[g.name]
        c["done_steps"] += n * self._steps_per_member(g)
        self._bar.update(self._tasks[g.name], completed=c["done_steps"], outcome=self._outcome(g, "resumed"))

    def updater(self, g, region):
        if self._bar is None:
            return None
        n_steps = self._steps_per_member(g)

        def update(steps, done, diverged):
            c = self._counts[g.name]
            # a finished member counts its whole budget; the others their steps so far
            progress = np.where(done | diverged, n_steps, steps).sum()
            live = {"diverged": int(diverged.sum()), "stopped": int(done.sum())}
            self._bar.update(
                self._tasks[g.name],
                completed=c["done_steps"] + int(progress),
                outcome=f"diverged {c['diverged'] + live['diverged']} · stopped {c['converged'] + live['stopped']}",
            )

        return update

    def finish_region(self, g, region, result, seconds: float):
        if self._bar is None:
            return
        c = self._counts[g.name]
        n = region.stop - region.start
        c["done_steps"] += n * self._steps_per_member(g)
        c["diverged"] += int(np.sum(result.diverged))
        c["converged"] += int(np.sum(result.done))
        self._bar.update(self._tasks[g.name], completed=c["done_steps"], outcome=self._outcome(g, f"{seconds:.1f} s"))

    def _outcome(self, g, extra: str) -> str:
        c = self._counts[g.name]
        return f"diverged {c['diverged']} · stopped {c['converged']} · {extra}"
