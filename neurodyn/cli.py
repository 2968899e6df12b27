"""The `neurodyn` command line: a thin layer over the Python API."""

import contextlib

import typer
import typer.core
from rich.console import Console

from ._tables import print_degeneracy as print_degeneracy
from ._tables import print_table

try:  # typer >= 0.2x carries its own copy of click
    from typer._click import exceptions as _click_errors
except ImportError:
    from click import exceptions as _click_errors


class _OneLineUsageErrors(typer.core.TyperGroup):
    """Usage errors (an unknown option or command, a missing argument, a value of the
    wrong type) reported as every other error is: one `error:` line, exit code 2."""

    def make_context(self, *args, **kwargs):
        with _usage_errors():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx):
        with _usage_errors():
            return super().invoke(ctx)


@contextlib.contextmanager
def _usage_errors():
    try:
        yield
    except _click_errors.UsageError as err:
        if isinstance(err, getattr(_click_errors, "NoArgsIsHelpError", ())):
            raise  # the help text, not an error
        message = err.format_message()
        message += "" if message.endswith((".", "?")) else "."
        _error(message + (f" See '{err.ctx.command_path} -h'." if err.ctx is not None else ""))
        raise typer.Exit(code=2) from None


app = typer.Typer(
    cls=_OneLineUsageErrors,
    help="neurodyn: train many recurrent networks on cognitive tasks at once, store them "
    "in zarr, and reverse-engineer them (fixed points, timescales, degeneracy).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
#: user text is printed as given: no `:name:` turned into an emoji
console = Console(emoji=False)
#: errors and warnings go to stderr, so a pipe or a redirected table keeps only results
err_console = Console(stderr=True, emoji=False)


def _error(message, *, label: str = "error") -> None:
    """One line naming what went wrong (the terminal wraps it, rich does not, so a log or
    `grep` keeps it whole); user text never read as markup."""
    from rich.markup import escape

    err_console.print(f"[bold red]{label}:[/bold red] {escape(str(message))}", soft_wrap=True)


def _version(value: bool):
    if value:
        from ._version import __version__

        console.print(f"neurodyn {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
):
    """neurodyn: train many recurrent networks on cognitive tasks at once, store them in
    zarr, and reverse-engineer them (fixed points, timescales, degeneracy)."""


def _use_cores():
    """On a CPU-only machine, one JAX device per core: a sweep's members train on all."""
    from .train._members import use_cpu_cores_if_possible

    use_cpu_cores_if_possible()


@app.command()
def demo(
    out: str = typer.Option("neurodyn-demo", "--out", help="Folder for the figures."),
    tiny: bool = typer.Option(False, "--tiny", help="Tiny sizes: the same path in seconds."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the store of an earlier demo in --out."),
):
    """Train a few small CTRNNs on the 3-bit flip-flop, print a summary, save figures."""
    from ._demo import run_demo

    _use_cores()
    with _clear_errors():
        run_demo(out, tiny=tiny, overwrite=overwrite, console=console)


@app.command()
def sweep(
    spec: str = typer.Argument(..., help="The sweep spec, a TOML file with [task], [model], [train], [sweep]."),
    out: str = typer.Option(..., "--out", help="The store to write: a directory (e.g. run.zarr) or an fsspec URL (e.g. s3://bucket/run.zarr)."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted or grown sweep."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing store."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show members, groups and memory; train nothing."),
    devices: int = typer.Option(None, "--devices", help="Shard members over the first N devices."),
    break_lock: bool = typer.Option(False, "--break-lock", help="Clear locks left by a killed process."),
    executor: str = typer.Option("local", "--executor", help="local (this process), slurm (submitit jobs), or submitit-local."),
    partition: str = typer.Option(None, "--partition", help="SLURM partition of the jobs."),
    time: str = typer.Option(None, "--time", help="Time limit per job: minutes or HH:MM:SS."),
    gpus_per_job: int = typer.Option(None, "--gpus-per-job", help="GPUs per job."),
    members_per_job: int = typer.Option(None, "--members-per-job", help="Pack whole regions into jobs of at most N members."),
    jobs: int = typer.Option(None, "--jobs", help="Split the regions into N jobs (instead of --members-per-job)."),
    jobs_folder: str = typer.Option(None, "--jobs-folder", help="Folder for submitit's job files and logs (default: <out>/_jobs/logs; needed for a remote --out)."),
    force: bool = typer.Option(False, "--force", help="Train even where the memory estimate exceeds the machine's (with a warning)."),
    verify_contents: bool = typer.Option(False, "--verify-contents", help="With --resume: check every stored chunk's contents, not only sizes, and train damaged regions again."),
):
    """Train every network of a sweep, many at a time, into one store."""
    from .sweep import run_sweep

    _use_cores()
    if devices is not None and devices < 1:
        _error(f"--devices {devices} must be 1 or more (devices to shard members over).")
        raise typer.Exit(code=2)
    given = {"partition": partition, "time": int(time) if time and time.isdigit() else time,
             "gpus_per_job": gpus_per_job, "members_per_job": members_per_job, "jobs": jobs,
             "folder": jobs_folder}
    options = {k: v for k, v in given.items() if v is not None}
    with _clear_errors():
        result = run_sweep(
            spec, out, resume=resume, overwrite=overwrite, dry_run=dry_run, devices=devices,
            break_lock=break_lock, console=console, executor=executor, executor_options=options,
            force=force, verify_contents=verify_contents,
        )
    if not dry_run:
        _print_members(result.members, title=f"{out}: {result.members.sizes['member']} members")


@app.command()
def info(
    store: str = typer.Argument(..., help="A store written by `neurodyn sweep`."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (members, groups, state, version, analyses) instead of tables."),
):
    """Print a store's members table, its groups and the analyses it holds."""
    from rich.markup import escape

    from .store import open_sweep

    with _clear_errors():
        s = open_sweep(store)
        members = s.members
    if as_json:
        _print_json({
            "store": store, "groups": list(s.groups), "complete": bool(s.complete), "damaged": s.damaged,
            "version": s.attrs.get("version"), "schema_version": s.attrs.get("schema_version"),
            "analyses": list(s.analyses), "members": _member_records(members),
        })
        return
    _print_members(members, title=f"{store}: {members.sizes['member']} members, groups {s.groups}")
    state = "complete" if s.complete else "incomplete (resume with `neurodyn sweep SPEC --out STORE --resume`)"
    if s.damaged:
        state = "damaged (train the damaged regions again with `neurodyn sweep SPEC --out STORE --resume`)"
    console.print(escape(f"sweep: {state}; neurodyn {s.attrs.get('version')}, schema {s.attrs.get('schema_version')}"))
    for group, regions in s.damaged.items():
        for region, problems in regions.items():
            _error(f"{group}/{region}: {'; '.join(problems)}", label="damaged")
    console.print(escape("analyses: " + (", ".join(s.analyses) if s.analyses else "none yet")))


@app.command()
def report(
    store: str = typer.Argument(..., help="A store written by `neurodyn sweep`."),
    out: str = typer.Option(None, "--out", help="The HTML file to write (default: beside the store, run.zarr -> run.html)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace --out even if it is not a neurodyn report."),
):
    """Write one HTML page for a store: members, training curves, every analysis with its figures."""
    from .reports import report as make_report

    with _clear_errors():
        path = make_report(store, out, overwrite=overwrite)
    console.print(f"wrote {path}")


@app.command()
def verify(
    store: str = typer.Argument(..., help="A store written by `neurodyn sweep`."),
    sizes_only: bool = typer.Option(False, "--sizes-only", help="Check chunk counts and sizes only (fast), not contents."),
):
    """Check every done region of a store against its marker: chunk files, sizes, contents."""
    from .store import verify_store

    with _clear_errors():
        report = verify_store(store, hashes=not sizes_only)
    for problem in report.problems:
        _error(problem, label="damaged")
    what = "counts and sizes" if sizes_only else "counts, sizes and contents"
    if report.problems:
        console.print(
            f"{len(report.problems)} problem(s) in {report.regions} done region(s) checked ({what}). "
            "`neurodyn sweep SPEC --out STORE --resume --verify-contents` trains the damaged regions again."
        )
        raise typer.Exit(code=1)
    console.print(f"ok: {report.regions} done region(s) in {report.groups} group(s) match their markers ({what}).")


@app.command()
def analyze(
    store: str = typer.Argument(..., help="A store written by `neurodyn sweep`."),
    fixed_points: bool = typer.Option(False, "--fixed-points", help="Fixed points, stability and saddle connections."),
    timescales: bool = typer.Option(False, "--timescales", help="Autocorrelation, learned and network timescales."),
    degeneracy: bool = typer.Option(False, "--degeneracy", help="Behaviour, dynamics (DSA), weights, representations."),
    levels: list[str] = typer.Option([], "--level", help="Degeneracy: only these levels (repeatable)."),
    color_by: str = typer.Option(None, "--color-by", help="Degeneracy figures: colour the MDS by this hyperparameter."),
    rank: str = typer.Option(None, "--rank", help="Degeneracy: the DMD rank, an integer (at most the state size; default 10) or explained_variance."),
    degeneracy_settings: list[str] = typer.Option([], "--degeneracy-setting", help="Degeneracy: any other setting as name=value (repeatable), e.g. whiten=true, n_delays=3."),
    members_per_chunk: int = typer.Option(16, "--members-per-chunk", help="Members held in memory at once."),
    select: list[str] = typer.Option([], "--select", help="Only members with these values, e.g. --select seed=0."),
    figures: str = typer.Option(None, "--figures", help="A folder for per-member figures."),
    n_initial: int = typer.Option(1024, "--n-initial", help="Fixed points: initial states per member."),
    n_iters: int = typer.Option(5000, "--n-iters", help="Fixed points: optimiser iterations."),
    n_steps: int = typer.Option(20000, "--n-steps", help="Timescales: length of the driving run."),
    drive_input: str = typer.Option("binary", "--input", help="Timescales: binary, gaussian or zero input."),
    time_solver: str = typer.Option(
        "scan", "--time-solver",
        help="Timescales: how the drive's time axis runs: scan, or deer, quasi_deer, elk, quasi_elk, auto "
        "(parallel in time, neurodyn.parallel; pays on GPUs).",
    ),
    replace: bool = typer.Option(False, "--replace", help="Replace stored results of other settings (else they are merged by member, or refused)."),
    hmm_mechanism: bool = typer.Option(False, "--hmm-mechanism", help="HMM emulation mechanism: orbit, residency, linearisation, kick units, drive scaling, training dynamics."),
    noise_scale: list[float] = typer.Option([], "--noise-scale", help="HMM mechanism: noise std of an orbit run (repeatable; default 0.1 1 2 3 4)."),
    mu: list[float] = typer.Option([], "--mu", help="HMM mechanism: a drive scale for the causal test (repeatable; default 0 0.5 1 2)."),
    noise_std: float = typer.Option(None, "--noise-std", help="HMM mechanism: noise std of the residency, drive-scaling and training runs (default 1)."),
    mechanism_settings: list[str] = typer.Option([], "--mechanism-setting", help="HMM mechanism: any other setting as name=value (repeatable; lists comma-separated), e.g. max_dwell=60."),
    training_dynamics: bool = typer.Option(True, "--training-dynamics/--no-training-dynamics", help="HMM mechanism: also analyse the stored parameter snapshots."),
    mechanism_parts: list[str] = typer.Option([], "--mechanism-part", help="HMM mechanism: only this part (repeatable): global_dynamics, residency, linearisation, units, drive_scaling."),
    parameters: str = typer.Option("final", "--parameters", help="HMM mechanism: the stored parameters analysed: final, init, or best (the snapshot with the lowest held-out loss)."),
):
    """Run analyses over every trained network of a store and write the results into it."""
    if not (fixed_points or timescales or degeneracy or hmm_mechanism):
        _error("choose an analysis: --fixed-points, --timescales, --degeneracy or --hmm-mechanism.")
        raise typer.Exit(code=2)
    if parameters != "final" and (fixed_points or timescales or degeneracy):
        _error("--parameters applies to --hmm-mechanism only; run the other analyses without it.")
        raise typer.Exit(code=2)
    with _clear_errors():
        import matplotlib

        import neurodyn.analysis as na

        matplotlib.use("Agg")  # figures go to files: no window from a terminal
        selection = _parse_selection(select)
        common = dict(members_per_chunk=members_per_chunk, selection=selection, figures=figures, replace=replace)
        if fixed_points:
            results = na.fixed_points(store, n_initial=n_initial, n_iters=n_iters, **common)
            _print_fixed_points(results)
        if timescales:
            results = na.timescales(store, n_steps=n_steps, input=drive_input, time_solver=time_solver, **common)
            _print_timescales(results)
        if degeneracy:
            kwargs = _parse_settings(degeneracy_settings, "--degeneracy-setting")
            if levels:
                kwargs["levels"] = tuple(levels)
            if rank is not None:
                kwargs["rank"] = _parse_value(rank)
            ds = na.degeneracy(store, color_by=color_by, **common, **kwargs)
            print_degeneracy(ds, console)
        if hmm_mechanism:
            keywords = _parse_settings(mechanism_settings, "--mechanism-setting")
            if noise_scale:
                keywords["scales"] = tuple(noise_scale)
            if mu:
                keywords["mu"] = tuple(mu)
            if noise_std is not None:
                keywords["noise_std"] = noise_std
            settings = na.HMMMechanism(**keywords)
            parts = tuple(mechanism_parts) or None
            results = na.hmm_mechanism(
                store, settings=settings, parts=parts, training=training_dynamics, which=parameters, **common
            )
            _print_hmm_mechanism(results)


def _parse_value(text: str):
    text = text.strip()
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if text.lower() in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _parse_settings(items: list[str], option: str) -> dict:
    """`name=value` items as keywords; comma-separated values become tuples."""
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise ValueError(f"{option} {item!r} must look like name=value, e.g. {option} max_dwell=60.")
        parts = [_parse_value(v) for v in value.split(",") if v.strip()]
        out[name.strip()] = tuple(parts) if "," in value else parts[0]
    return out


def _print_hmm_mechanism(results):
    import numpy as np

    cols = ("member", "group", "orbit radius per noise std", "collapsed", "transition/kick/cluster",
            "unstable: cluster, kick", "mean dwell", "kick units", "changes: base, mu -> target/control")
    rows = []
    for g, ds in results.items():
        for i, m in enumerate(np.asarray(ds["member"].values)):
            row = {k: np.asarray(v.values[i]) for k, v in ds.data_vars.items() if v.dims[:1] == ("member",)}
            cells = ["-"] * 7
            if "global_radius" in row:
                cells[0] = " ".join(f"{r:.3g}" for r in row["global_radius"])
                cells[1] = "yes" if bool(np.all(row["global_collapsed"])) else "no"
            if "residency_label_count" in row:
                cells[2] = "/".join(str(int(c)) for c in row["residency_label_count"][:3])
                cells[4] = f"{float(np.mean(row['residency_dwell'])):.3g}"
            if "linear_mean_unstable" in row:
                cells[3] = f"{row['linear_mean_unstable'][2]:.2g}, {row['linear_mean_unstable'][1]:.2g}"
            if "units_kick" in row:
                cells[5] = " ".join(str(int(u)) for u in row["units_kick"])
            if "scaling_changes" in row:
                mus = np.asarray(ds["mu"].values)
                j = int(np.argmin(np.abs(mus)))
                changes = row["scaling_changes"]
                cells[6] = (f"{float(row['scaling_baseline_changes']):.3g}, {mus[j]:g} -> "
                            f"{changes[0, j]:.3g}/{changes[1, j]:.3g}")
            rows.append([str(m), g, *cells])
    print_table(console, cols, rows, title="HMM emulation mechanism per member", key=2, wrap={7: 24})


def _parse_selection(items: list[str]) -> dict:
    selection = {}
    for item in items:
        if "=" not in item or not item.partition("=")[0].strip():
            raise ValueError(f"--select {item!r} must look like name=value, e.g. seed=0.")
        name, _, value = item.partition("=")
        try:
            parsed = int(value)
        except ValueError:
            try:
                parsed = float(value)
            except ValueError:
                parsed = value
        selection[name.strip()] = parsed
    return selection


def _print_fixed_points(results):
    import numpy as np

    rows = []
    for g, ds in results.items():
        valid = np.asarray(ds["valid"].values)
        slow = np.asarray(ds["slow"].values) if "slow" in ds else np.zeros_like(valid)
        stab = np.asarray(ds["stability"].values)
        nun = np.asarray(ds["n_unstable"].values)
        plus = np.asarray(ds["attractor_plus"].values)
        minus = np.asarray(ds["attractor_minus"].values)
        for i, m in enumerate(np.asarray(ds["member"].values)):
            fixed = valid[i] & ~slow[i]
            rows.append([
                str(m), g, str(int(fixed.sum())), str(int((fixed & (stab[i] == 0)).sum())),
                str(int((fixed & (nun[i] == 1)).sum())),
                str(int((fixed & (plus[i] >= 0) & (minus[i] >= 0)).sum())),
                str(int((valid[i] & slow[i]).sum())),
            ])
    cols = ("member", "group", "points", "stable", "saddles (1 unstable mode)", "connected saddles", "slow")
    print_table(console, cols, rows, title="fixed points per member", key=2)


def _print_timescales(results):
    import numpy as np

    rows = []
    for g, ds in results.items():
        for i, m in enumerate(np.asarray(ds["member"].values)):
            learned = np.asarray(ds["learned_tau"].values[i])
            rows.append([
                str(m), g, f"{float(ds['tau_net_mean'].values[i]):.3g}", f"{float(ds['tau_net_median'].values[i]):.3g}",
                str(int(ds["n_valid_units"].values[i])),
                f"{np.nanmean(learned):.3g}" if np.isfinite(learned).any() else "-",
                f"{float(ds['population_tau_net'].values[i]):.3g}",
            ])
    cols = ("member", "group", "tau_net mean", "tau_net median", "units kept", "learned tau mean", "population tau")
    print_table(console, cols, rows, title="timescales per member (steps; units with tau_net <= 1 excluded)", key=2)


def _cell(value, *, exact: bool) -> str:
    """A value as a table cell: results to 3 significant digits; hyperparameters exactly
    (numpy's shortest repr), so 0.001 and 0.0011 never read alike."""
    import numpy as np

    if isinstance(value, (float, np.floating)) and not exact:
        return f"{value:.3g}"
    return str(value)


def _print_members(members, *, title: str, max_rows: int = 60):
    import numpy as np

    hyper = [c for c in members.coords if c != "member"]
    cols = ["member", *hyper, "group", "status", "final_loss", "final_metric", "steps_trained"]
    n = members.sizes["member"]
    values = {c: np.asarray(members[c].values) for c in cols}
    rows = [[_cell(values[c][i], exact=c in hyper) for c in cols] for i in range(min(n, max_rows))]
    notes = []
    if n > max_rows:
        notes.append(f"first {max_rows} of {n} members shown; `neurodyn info STORE --json` lists all.")
    print_table(console, cols, rows, title=title, notes=notes)


def _jsonable(value):
    """Plain JSON values: numpy scalars and arrays unwrapped, tuples as lists, non-finite
    floats as null (JSON has no NaN)."""
    import math

    import numpy as np

    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _print_json(data) -> None:
    import json

    typer.echo(json.dumps(_jsonable(data), indent=2))


def _member_records(members) -> list[dict]:
    """One dict per member: its id, hyperparameters and every stored per-member value."""
    import json

    import numpy as np

    names = [c for c in members.coords] + [v for v in members.data_vars if members[v].dims == ("member",)]
    values = {c: np.asarray(members[c].values) for c in names}
    records = []
    for i in range(members.sizes["member"]):
        record = {c: values[c][i] for c in names}
        if "params" in record:
            with contextlib.suppress(TypeError, ValueError):
                record["params"] = json.loads(str(record["params"]))
        records.append(record)
    return records


class _clear_errors:
    """Turn user errors into a one-line message and exit code 2 (no traceback)."""

    def __enter__(self):
        return self

    def __exit__(self, typ, err, tb):
        if typ is None:
            return False
        from .store import RegionLockError

        if issubclass(typ, (ValueError, TypeError, FileNotFoundError, FileExistsError, KeyError, RegionLockError)):
            _error(err.args[0] if issubclass(typ, KeyError) and err.args else err)
            raise typer.Exit(code=2)
        from .sweep import JobsFailedError

        if issubclass(typ, JobsFailedError):
            _error(err, label="jobs failed")
            raise typer.Exit(code=1)
        if issubclass(typ, OSError):
            _error(_os_message(err))
            raise typer.Exit(code=2)
        if issubclass(typ, MemoryError) or "RESOURCE_EXHAUSTED" in str(err)[:2000]:
            _error(
                "out of memory: the sweep or analysis asked for more than the device has. Use "
                "fewer members per chunk (--members-per-chunk, [sweep] members_per_chunk), a smaller "
                f"batch or size, or [train] bptt_chunk for long trials. ({str(err).splitlines()[0][:200]})"
            )
            raise typer.Exit(code=2)
        return False


def _os_message(err: OSError) -> str:
    import errno

    where = f" ({err.filename})" if getattr(err, "filename", None) else ""
    hints = {
        errno.ENOSPC: "the disk is full: free space, or write the store elsewhere; what was stored is kept and --resume continues",
        errno.EROFS: "the filesystem is read-only: write the store elsewhere",
        errno.EACCES: "permission denied: choose a path you may write to",
        errno.EDQUOT: "the disk quota is exceeded: free space, or write the store elsewhere",
    }
    hint = hints.get(err.errno, err.strerror or str(err))
    return f"{hint}{where}."


@app.command("tasks")
def list_tasks(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (task name -> summary and parameters) instead of tables."),
):
    """List the tasks with their parameters, defaults and allowed ranges."""
    from .spec import TASKS

    _print_registry(TASKS, as_json=as_json)
    if not as_json:
        console.print(
            "Any NeuroGym task too: name = \"neurogym:<EnvId>\" (e.g. neurogym:PerceptualDecisionMaking-v0), "
            "with the env's own keyword arguments, after pip install \"neurodyn\\[neurogym]\"; "
            "your own task class as name = \"package.module:Class\"."
        )


@app.command("models")
def list_models(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (model name -> summary and parameters) instead of tables."),
):
    """List the models with their parameters, defaults and allowed ranges."""
    from .spec import MODELS

    _print_registry(MODELS, as_json=as_json)


def _print_registry(registry, *, as_json: bool = False):
    entries = registry.entries()
    if as_json:
        _print_json({
            name: {
                "summary": entry.summary,
                "parameters": [
                    {"name": p.name, "kind": p.kind, "required": bool(p.required),
                     "default": None if p.required else p.default, "allowed": p.allowed(),
                     "low": p.low, "high": p.high, "choices": p.choices, "nullable": p.nullable, "doc": p.doc}
                    for p in entry.user_params()
                ],
            }
            for name, entry in entries.items()
        })
        return
    for name, entry in entries.items():
        rows = [[p.name, "required" if p.required else repr(p.default), p.allowed(), p.doc]
                for p in entry.user_params()]
        print_table(console, ("parameter", "default", "allowed", "meaning"), rows,
                    title=f"{name}  —  {entry.summary}", justify=["left"] * 4, wrap={1: 12, 2: 17, 3: 20})


def main():
    app()


if __name__ == "__main__":
    main()
