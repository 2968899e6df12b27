"""The `neurodyn` command line: a thin layer over the Python API."""

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="neurodyn: train many recurrent networks on cognitive tasks at once, store them "
    "in zarr, and reverse-engineer them (fixed points, timescales, degeneracy).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()


@app.command()
def demo(
    out: str = typer.Option("neurodyn-demo", "--out", help="Folder for the figures."),
    tiny: bool = typer.Option(False, "--tiny", help="Tiny sizes: the same path in seconds."),
):
    """Train a few small CTRNNs on the 3-bit flip-flop, print a summary, save figures."""
    from ._demo import run_demo

    run_demo(out, tiny=tiny, console=console)


@app.command("tasks")
def list_tasks():
    """List the tasks with their parameters, defaults and allowed ranges."""
    from .spec import TASKS

    _print_registry(TASKS)


@app.command("models")
def list_models():
    """List the models with their parameters, defaults and allowed ranges."""
    from .spec import MODELS

    _print_registry(MODELS)


def _print_registry(registry):
    for name, entry in registry.entries().items():
        table = Table(title=f"{name}  —  {entry.summary}", title_justify="left", show_lines=False)
        table.add_column("parameter")
        table.add_column("default")
        table.add_column("allowed")
        table.add_column("meaning", overflow="fold", max_width=60)
        for p in entry.user_params():
            default = "required" if p.required else repr(p.default)
            table.add_row(p.name, default, p.allowed(), p.doc)
        console.print(table)


def main():
    app()


if __name__ == "__main__":
    main()
