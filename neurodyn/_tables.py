"""Tables printed by the command line and the demo."""

from rich.table import Table


def print_degeneracy(ds, console):
    """Per-condition means of every degeneracy measure, as a table."""
    import numpy as np

    names = [v[: -len("_mean")] for v in ds.data_vars if v.endswith("_mean")]
    table = Table(title="degeneracy per condition (mean over pairs of networks; sigma_ood over networks)")
    table.add_column("condition")
    for n in names + (["sigma_ood"] if "sigma_ood" in ds else []):
        table.add_column(n.replace("_", " "), justify="right")
    for c, cond in enumerate(np.asarray(ds["condition"].values)):
        row = [f"{float(ds[n + '_mean'].values[c]):.3g}" for n in names]
        if "sigma_ood" in ds:
            row.append(f"{float(ds['sigma_ood'].values[c]):.3g}")
        table.add_row(str(cond), *row)
    console.print(table)
