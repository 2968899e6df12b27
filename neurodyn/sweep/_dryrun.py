"""`--dry-run`: what a sweep would train, without training anything."""

from .._tables import print_table


def _mb(n: float) -> str:
    if n >= 2**30:
        return f"{n / 2**30:.3g} GB"
    return f"{n / 2**20:.3g} MB"


def print_plan(plan, *, estimates: dict, console, max_rows: int = 40):
    """The members a sweep would train (one row each) and its groups (one column each)."""
    members = plan.members
    cols = []
    for m in members:
        for k in m.coords:
            if k not in cols:
                cols.append(k)
    group_of = {i: g.name for g in plan.groups for i in g.members}
    rows = [[str(m.index), group_of.get(m.index, "(stored)"), *[str(m.coords.get(c, "")) for c in cols]]
            for m in members[:max_rows]]
    notes = []
    if len(members) > max_rows:
        notes.append(f"first {max_rows} of {len(members)} members shown.")
    print_table(console, ["member", "group", *cols], rows, title=f"{len(members)} members", notes=notes)

    names = ("members", "structure", "regions × members", "compile units", "memory / member",
             "memory / region", "stored / member")
    values = []
    for g in plan.groups:
        sizes = sorted({r.stop - r.start for r in g.regions()})
        est = estimates[g.name]
        values.append([str(len(g.members)), g.description, f"{len(g.regions())} × {g.chunk}", str(len(sizes)),
                       _mb(est["per_member"]), _mb(est["total"]), _mb(est["stored"])])
    rows = [[name, *(v[i] for v in values)] for i, name in enumerate(names)]
    print_table(
        console, ["group", *(g.name for g in plan.groups)], rows,
        title=f"{len(plan.groups)} group(s): one compiled program each",
        justify=["left"] * (len(plan.groups) + 1), wrap={j: 16 for j in range(1, len(plan.groups) + 1)},
    )
    console.print("[dim]dry run: nothing was trained or written.[/dim]")
