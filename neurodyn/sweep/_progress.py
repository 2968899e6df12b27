"""Progress of a sweep: a live bar per group on a terminal, plain lines elsewhere.

A SLURM log or `| tee` cannot redraw a bar, so there each finished region prints one
line, and a long region a line every `every` seconds."""

import time

import numpy as np
from rich.text import Text


def _clock(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _count(n: int) -> str:
    """A step count short enough for an 80-column bar: 98765, 123k, 12.8M, 1.5G."""
    if n < 100_000:
        return str(n)
    if n < 1_000_000:
        return f"{n / 1e3:.0f}k"
    if n < 1_000_000_000:
        return f"{n / 1e6:.3g}M"
    return f"{n / 1e9:.3g}G"


def _member_ids(g, region) -> str:
    ids = [int(i) for i in g.members[region.start:region.stop]]
    if ids == list(range(ids[0], ids[-1] + 1)):
        return f"member {ids[0]}" if len(ids) == 1 else f"members {ids[0]}-{ids[-1]}"
    return "members " + ", ".join(str(i) for i in ids)


class SweepProgress:
    """Steps, elapsed time, ETA and member outcomes of each group; silent when `enabled`
    is False. `live` (default: whether the console is a terminal) chooses the bar."""

    def __init__(self, plan, *, enabled: bool = True, console=None, live: bool | None = None, every: float = 30.0):
        self.plan = plan
        self.enabled = enabled
        self.console = console
        self.live = live
        self.every = every
        self._bar = None
        self._tasks = {}
        self._counts = {}

    def __enter__(self):
        if not self.enabled:
            return self
        if self.console is None:
            from rich.console import Console

            self.console = Console()
        if self.live is None:
            self.live = self.console.is_terminal
        now = time.monotonic()
        for g in self.plan.groups:
            n_steps = self._steps_per_member(g)
            self._counts[g.name] = {"done_steps": 0, "diverged": 0, "converged": 0, "members": 0,
                                    "skipped": 0, "total": n_steps * len(g.members), "start": now, "last_line": now}
            self._line(f"{g.name}: {len(g.members)} members, {n_steps} steps each; {g.description}")
        if self.live:
            self._start_bar()
        return self

    def _start_bar(self):
        from rich.progress import (
            BarColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=None),
            TextColumn("{task.fields[steps]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[outcome]}"),
            console=self.console,
        )
        self._bar.start()
        for g in self.plan.groups:
            c = self._counts[g.name]
            self._tasks[g.name] = self._bar.add_task(g.name, total=c["total"], outcome=self._outcome(g),
                                                     steps=self._steps(g, 0))

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.stop()
        return False

    def _steps_per_member(self, g) -> int:
        from ._plan import config_of, recipe_of

        config = config_of(recipe_of(self.plan.members[g.members[0]]).train)
        return config.n_epochs * config.eval_every

    def _line(self, text: str) -> None:
        """One whole line (never wrapped, so `grep` on a log finds it)."""
        if self._bar is not None:
            self._bar.console.print(Text(text), soft_wrap=True)
        else:
            self.console.print(Text(text), soft_wrap=True)

    def _outcome(self, g, live: dict | None = None) -> str:
        c = self._counts[g.name]
        live = live or {"diverged": 0, "stopped": 0}
        return f"diverged {c['diverged'] + live['diverged']} · stopped {c['converged'] + live['stopped']}"

    def _steps(self, g, completed: int) -> str:
        return f"{_count(completed)}/{_count(self._counts[g.name]['total'])} steps"

    def _times(self, g, completed: int) -> str:
        c = self._counts[g.name]
        elapsed = time.monotonic() - c["start"]
        trained = completed - c["skipped"]
        eta = elapsed * (c["total"] - completed) / trained if trained > 0 else None
        return f"elapsed {_clock(elapsed)}, ETA {_clock(eta) if eta is not None else '-:--:--'}"

    def skip(self, g, region):
        if not self.enabled:
            return
        n = region.stop - region.start
        c = self._counts[g.name]
        c["done_steps"] += n * self._steps_per_member(g)
        c["skipped"] += n * self._steps_per_member(g)
        c["members"] += n
        if self._bar is not None:
            self._bar.update(self._tasks[g.name], completed=c["done_steps"], outcome=self._outcome(g),
                             steps=self._steps(g, c["done_steps"]))
        else:
            self._line(f"{g.name}: {_member_ids(g, region)} already trained (resumed); "
                       f"{c['members']}/{len(g.members)} members done")

    def updater(self, g, region):
        if not self.enabled:
            return None
        n_steps = self._steps_per_member(g)

        def update(steps, done, diverged, resumed=False):
            c = self._counts[g.name]
            # a finished member counts its whole budget; the others their steps so far
            progress = int(np.where(done | diverged, n_steps, steps).sum())
            if resumed:  # restored from a checkpoint: done, but not trained at this run's rate
                c["skipped"] += progress
            live = {"diverged": int(diverged.sum()), "stopped": int(done.sum())}
            if self._bar is not None:
                completed = c["done_steps"] + progress
                self._bar.update(self._tasks[g.name], completed=completed, outcome=self._outcome(g, live),
                                 steps=self._steps(g, completed))
                return
            now = time.monotonic()
            if now - c["last_line"] >= self.every:
                c["last_line"] = now
                completed = c["done_steps"] + progress
                self._line(f"{g.name}: {_member_ids(g, region)} at {int(np.max(steps))}/{n_steps} steps; "
                           f"group {completed}/{c['total']} steps, {self._outcome(g, live)}; "
                           f"{self._times(g, completed)}")

        return update

    def finish_region(self, g, region, result, seconds: float):
        if not self.enabled:
            return
        c = self._counts[g.name]
        n = region.stop - region.start
        c["done_steps"] += n * self._steps_per_member(g)
        c["diverged"] += int(np.sum(result.diverged))
        c["converged"] += int(np.sum(result.done))
        c["members"] += n
        if self._bar is not None:
            self._bar.update(self._tasks[g.name], completed=c["done_steps"], outcome=self._outcome(g),
                             steps=self._steps(g, c["done_steps"]))
            return
        c["last_line"] = time.monotonic()
        self._line(f"{g.name}: {_member_ids(g, region)} trained in {seconds:.1f} s; "
                   f"{c['members']}/{len(g.members)} members done, {self._outcome(g)}; "
                   f"{self._times(g, c['done_steps'])}")
