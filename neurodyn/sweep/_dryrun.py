"""`--dry-run`: what a sweep would train, without training anything."""

from rich.table import Table


def _mb(n: float) -> str:
    if n >= 2**30:
        return f"{n / 2**30:.3g} GB"
    return f"{n / 2**20:.3g} MB"


def print_plan(plan, *, estimates: dict, console, max_rows: int = 40):
    members = plan.members
    table = Table(title=f"{len(members)} members")
    cols = []
    for m in members:
        for k in m.coords:
            if k not in cols:
                cols.append(k)
    table.add_column("member", justify="right")
    table.add_column("group")
    for c in cols:
        table.add_column(c, justify="right")
    group_of = {i: g.name for g in plan.groups for i in g.members}
    for m in members[:max_rows]:
        table.add_row(str(m.index), group_of.get(m.index, "(stored)"), *[str(m.coords.get(c, "")) for c in cols])
    if len(members) > max_rows:
        table.add_row("…", f"{len(members) - max_rows} more", *[""] * len(cols))
    console.print(table)
    groups = Table(title=f"{len(plan.groups)} group(s): one compiled program each")
    for col in ("group", "members", "structure", "regions × members", "compile units", "memory / member", "memory / region", "stored / member"):
        groups.add_column(col)
    for g in plan.groups:
        sizes = sorted({r.stop - r.start for r in g.regions()})
        est = estimates[g.name]
        groups.add_row(
            g.name,
            str(len(g.members)),
            g.description,
            f"{len(g.regions())} × {g.chunk}",
            str(len(sizes)),
            _mb(est["per_member"]),
            _mb(est["total"]),
            _mb(est["stored"]),
        )
    console.print(groups)
    console.print("[dim]dry run: nothing was trained or written.[/dim]")
