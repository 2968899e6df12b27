"""Tables printed by the command line and the demo, readable at any width.

Every value is printed whole: a table wider than the console is split into parts that
repeat the leading (key) columns, headers wrap at spaces, and only free text (a
description, a docstring) wraps inside its cell. A piped or logged console is 80
columns wide, so this is what a SLURM log or `| tee` shows.
"""

from rich.table import Table
from rich.text import Text


def _longest_word(text: str) -> int:
    return max((len(w) for w in text.split()), default=0)


def _widths(header, rows, wrap) -> tuple[list[int], list[int]]:
    """Per column, the narrowest width that keeps every value whole and the natural one."""
    narrow, natural = [], []
    for j, name in enumerate(header):
        cells = [row[j] for row in rows]
        longest = max((len(c) for c in cells), default=0)
        if j in wrap:
            low = max(min(wrap[j], longest), max((_longest_word(c) for c in cells), default=0))
        else:
            low = longest
        low = max(low, _longest_word(name), 1)
        narrow.append(low)
        natural.append(max(low, len(name), longest))
    return narrow, natural


def _grow(widths: list[int], natural: list[int], room: int) -> list[int]:
    """Spread `room` spare columns over the cells narrower than their natural width, the
    nearly whole first, so short headers and values end on one line and free text takes
    what is left."""
    widths, room = list(widths), max(room, 0)
    order = sorted(range(len(widths)), key=lambda j: natural[j] - widths[j])
    for k, j in enumerate(order):
        add = min(natural[j] - widths[j], room // (len(order) - k))
        widths[j] += add
        room -= add
    return widths


def _frame(n_columns: int) -> int:
    """Characters a boxed table adds around `n_columns` cells: padding and borders."""
    return 3 * n_columns + 1


def table_parts(header, rows, *, width: int, key: int = 1, wrap=None) -> list[tuple[list[int], list[int]]]:
    """Split columns into parts that each fit `width`, the first `key` columns in every part.

    Returns, per part, the column indices and their widths (cell text, without padding)."""
    wrap = dict(wrap or {})
    narrow, natural = _widths(header, rows, wrap)
    keys = list(range(min(key, len(header))))
    parts, current = [], list(keys)
    for j in range(len(keys), len(header)):
        trial = current + [j]
        if len(current) > len(keys) and sum(narrow[i] for i in trial) + _frame(len(trial)) > width:
            parts.append(current)
            current = keys + [j]
        else:
            current = trial
    parts.append(current)
    out = []
    for cols in parts:
        room = width - _frame(len(cols)) - sum(narrow[i] for i in cols)
        out.append((cols, _grow([narrow[i] for i in cols], [natural[i] for i in cols], room)))
    return out


def print_table(console, header, rows, *, title: str | None = None, key: int = 1, justify=None,
                wrap=None, notes=()) -> None:
    """Print `rows` (lists of strings) under `header`, split to fit the console's width.

    - `key`: leading columns repeated in every part (e.g. the member id).
    - `justify`: per column, "left" or "right" (default: the first left, the rest right).
    - `wrap`: column index → the narrowest width of a column of free text, which wraps at
      spaces; every other cell is kept whole on one line.
    - `notes`: lines printed after the table (a legend of abbreviations, rows not shown).

    Text is printed as given, never read as markup."""
    header = [str(h) for h in header]
    rows = [[str(c) for c in row] for row in rows]
    justify = list(justify or ["left"] + ["right"] * (len(header) - 1))
    parts = table_parts(header, rows, width=console.width, key=key, wrap=wrap)
    for n, (cols, widths) in enumerate(parts):
        label = title if n == 0 else None
        if label and len(parts) > 1:
            label = f"{label} (columns in {len(parts)} parts)"
        table_width = sum(widths) + _frame(len(cols))
        if label and len(label) > table_width:
            console.print(Text(label, style="italic"))
            label = None
        table = Table(title=Text(label, style="italic") if label else None)
        for j, w in zip(cols, widths):
            table.add_column(Text(header[j]), justify=justify[j], width=w, overflow="fold")
        for row in rows:
            table.add_row(*(Text(row[j]) for j in cols))
        console.print(table)
    for line in notes:
        console.print(Text(line))


def print_degeneracy(ds, console):
    """Per-condition means of every degeneracy measure: one row per measure, one column
    per condition (condition labels stay whole however many measures there are)."""
    import numpy as np

    names = [v[: -len("_mean")] for v in ds.data_vars if v.endswith("_mean")]
    conditions = [str(c) for c in np.asarray(ds["condition"].values)]
    rows = [[n.replace("_", " "), *(f"{float(v):.3g}" for v in np.asarray(ds[n + "_mean"].values))] for n in names]
    if "sigma_ood" in ds:
        rows.append(["sigma ood", *(f"{float(v):.3g}" for v in np.asarray(ds["sigma_ood"].values))])
    print_table(
        console, ["measure", *conditions], rows,
        title="degeneracy per condition (mean over pairs of networks; sigma_ood over networks)",
    )
