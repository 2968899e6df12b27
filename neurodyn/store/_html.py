"""The members table and state of a store as HTML: `SweepStore._repr_html_` and the
head of `neurodyn.report`'s page."""

import html

import numpy as np


def _hyperparameters(members) -> list[str]:
    """Member coordinates that differ across members (seed last)."""
    names = []
    for name, coord in members.coords.items():
        if name == "member" or coord.dims != ("member",):
            continue
        if len(np.unique(np.asarray(coord.values).astype(str))) > 1 or name == "seed":
            names.append(str(name))
    return sorted(names, key=lambda n: (n == "seed", n))


def _label(members, hyper, member: int) -> str:
    pos = int(np.nonzero(np.asarray(members["member"].values) == member)[0][0])
    parts = [f"{n}={_fmt(members[n].values[pos])}" for n in hyper]
    return f"member {member}" + (f" ({', '.join(parts)})" if parts else "")


def _fmt(value) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    return str(value)


def _table(headers, rows, *, cls: str, row_classes=None) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        cells = "".join(
            f'<td class="text">{html.escape(c)}</td>' if not _numeric(c) else f"<td>{html.escape(c)}</td>" for c in row
        )
        rc = f' class="{row_classes[i]}"' if row_classes else ""
        body.append(f"<tr{rc}>{cells}</tr>")
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def members_table(sweep) -> tuple[list[str], list[list[str]], list[str]]:
    """Headers, rows and statuses of the members table as the report shows it."""
    m = sweep.members
    hyper = _hyperparameters(m)
    headers = ["member", *hyper, "group", "status", "final_loss", "final_metric", "steps_trained"]
    rows, statuses = [], []
    for i in range(m.sizes["member"]):
        row = [str(int(m["member"].values[i]))]
        row += [_fmt(m[n].values[i]) for n in hyper]
        row += [str(m["group"].values[i]), str(m["status"].values[i])]
        row += [_fmt(m[n].values[i]) for n in ("final_loss", "final_metric")]
        row.append(str(int(m["steps_trained"].values[i])))
        rows.append(row)
        statuses.append(str(m["status"].values[i]))
    return headers, rows, statuses


def sweep_name(sweep) -> str | None:
    """The spec's `[sweep] name`, the sweep's label, or None."""
    name = ((sweep.attrs.get("spec") or {}).get("sweep") or {}).get("name")
    return str(name) if name else None


def summary_html(sweep) -> str:
    """The report's header and members table (no figures): `SweepStore._repr_html_`."""
    attrs = sweep.attrs
    headers, rows, statuses = members_table(sweep)
    counts = {s: statuses.count(s) for s in sorted(set(statuses))}
    state = "complete" if sweep.complete else "incomplete"
    meta = (
        f"{len(rows)} members in groups {', '.join(sweep.groups)}; sweep {state}; statuses "
        + ", ".join(f"{k}: {v}" for k, v in counts.items())
        + f"; analyses: {', '.join(sweep.analyses) or 'none'}; written by neurodyn {attrs.get('version', '?')}"
        + (f" on {attrs['created']}" if attrs.get("created") else "")
    )
    table = _table(headers, rows, cls="members", row_classes=[f"member status-{s}" for s in statuses])
    name, path = sweep_name(sweep), html.escape(str(sweep.path))
    head = f"<b>{html.escape(name)}</b> ({path})" if name else f"<b>{path}</b>"
    return f'<div class="neurodyn-sweep"><p class="meta">{head}: {html.escape(meta)}</p>{table}</div>'

