"""Malformed inputs to the command line: exit code 2, one line `error: ...` on stderr and
nothing on stdout, no store written, nothing trained.

Each case's expected text names the field (or path, or option) and the fix. Training is
replaced by a function that fails the test, so no case can start it.
"""

import json

import pytest
from typer.testing import CliRunner

import neurodyn.sweep._plan
import neurodyn.sweep._run
from neurodyn.cli import app

runner = CliRunner()

BASE = {
    "task": {"name": '"flipflop"', "n_bits": "2", "n_time": "10"},
    "model": {"name": '"ctrnn"', "hidden_size": "8"},
    "train": {"n_steps": "4", "eval_every": "2", "batch_size": "4", "eval_batch_size": "4"},
    "sweep": {},
}

#: text that must never reach a user
INTERNALS = ("Traceback", "File \"", "jaxlib", "XlaRuntimeError", "zarr.errors", "typer.", "click.",
             "Usage:", "Aborted")


def toml(*edits: str, extra: str = "") -> str:
    """The base spec with edits `section.key = value` (`-section.key` drops a key,
    `-[section]` a section), then `extra` appended verbatim."""
    data = {section: dict(table) for section, table in BASE.items()}
    for edit in edits:
        if edit.startswith("-["):
            del data[edit[2:-1]]
        elif edit.startswith("-"):
            section, key = edit[1:].split(".", 1)
            del data[section][key]
        else:
            name, value = (part.strip() for part in edit.split("=", 1))
            section, key = name.split(".", 1)
            data[section][key] = value
    lines = []
    for section, table in data.items():
        lines += [f"[{section}]", *(f"{key} = {value}" for key, value in table.items()), ""]
    return "\n".join(lines) + extra


SWEEP = ["sweep", "{tmp}/spec.toml", "--out", "{tmp}/out.zarr"]


def spec(case_id, *edits, expected, extra="", options=()):
    """`neurodyn sweep` on the base spec with `edits` (and `extra` TOML appended)."""
    return pytest.param([*SWEEP, *options], {"spec.toml": toml(*edits, extra=extra)}, expected, id=case_id)


def cli(case_id, *args, expected, files=None):
    """Command-line arguments, `{tmp}` standing for the test's folder; the base spec is
    at {tmp}/spec.toml."""
    return pytest.param(list(args), {"spec.toml": toml(), **(files or {})}, expected, id=case_id)


def custom(case_id, source, expected, *, attr="MyTask", section="task"):
    """A spec naming `module:attr` as its task (or model), the module's text `source`."""
    name = "ndcustom_" + case_id.replace("-", "_")
    edits = [f'{section}.name = "{name}:{attr}"'] + (["-task.n_bits", "-task.n_time"] if section == "task" else [])
    files = {"spec.toml": toml(*edits), f"{name}.py": source}
    return pytest.param(SWEEP, files, expected.replace("{module}", name), id=case_id)


FILES = [
    spec("toml-unclosed-table", extra="[task\n", expected="spec file '{tmp}/spec.toml' is not valid TOML: "),
    spec("toml-missing-value", extra="[extra]\nx =\n", expected="is not valid TOML: Invalid value (at line 18"),
    spec("toml-table-twice", extra="[task]\nn_bits = 3\n", expected="is not valid TOML: Cannot declare ('task',) twice"),
    cli("toml-key-twice", "sweep", "{tmp}/s.toml", "--out", "{tmp}/out.zarr",
        files={"s.toml": toml().replace("n_bits = 2", "n_bits = 2\nn_bits = 3")}, expected="is not valid TOML: "),
    spec("toml-unterminated-string", 'task.name = "flipflop', expected="is not valid TOML: Illegal character '\\n' (at line 2"),
    spec("toml-bare-word", "model.activation = tanh", expected="is not valid TOML: Invalid value (at line 9"),
    cli("spec-missing-file", "sweep", "{tmp}/nope.toml", "--out", "{tmp}/out.zarr",
        expected="spec file '{tmp}/nope.toml' does not exist"),
    cli("spec-is-directory", "sweep", "{tmp}", "--out", "{tmp}/out.zarr",
        expected="is a directory; give the path of a TOML file"),
    cli("spec-empty-path", "sweep", "", "--out", "{tmp}/out.zarr", expected="give the path of a TOML file"),
    cli("spec-not-utf8", "sweep", "{tmp}/latin1.toml", "--out", "{tmp}/out.zarr",
        files={"latin1.toml": b'[task]\nname = "flip\xe9"\n'}, expected="is not UTF-8 text"),
    cli("spec-binary", "sweep", "{tmp}/blob.toml", "--out", "{tmp}/out.zarr",
        files={"blob.toml": bytes(range(256))}, expected="is not UTF-8 text"),
    cli("spec-empty-file", "sweep", "{tmp}/empty.toml", "--out", "{tmp}/out.zarr",
        files={"empty.toml": ""}, expected="the section [task] is missing"),
]

SECTIONS = [
    spec("unknown-section-trian", extra="[trian]\nn_steps = 4\n",
         expected="unknown section [trian]. Did you mean 'train'?"),
    spec("unknown-section-capital", extra="[Model]\nhidden_size = 8\n",
         expected="unknown section [Model]. Did you mean 'model'?"),
    spec("unknown-section-plural", extra="[models]\nx = 1\n",
         expected="unknown section [models]. Did you mean 'model'?"),
    spec("unknown-subtable", extra="[train.adam]\nb1 = 0.9\n", expected="[train]"),
    spec("missing-section-model", "-[model]", expected="the section [model] is missing"),
    spec("missing-section-task", "-[task]", expected="the section [task] is missing"),
    spec("missing-task-name", "-task.name", expected="[task] needs a `name`, one of"),
    spec("missing-model-name", "-model.name", expected="[model] needs a `name`, one of"),
    cli("top-level-key", "sweep", "{tmp}/s.toml", "--out", "{tmp}/out.zarr",
        files={"s.toml": "n_steps = 4\n" + toml()},
        expected="the key 'n_steps' comes before every [section] header, so it belongs to no section; move it under [train]"),
    cli("section-as-string", "sweep", "{tmp}/s.toml", "--out", "{tmp}/out.zarr",
        files={"s.toml": 'task = "flipflop"\n' + toml("-[task]")}, expected="spec section [task] must be a table (dict), got str"),
    cli("section-as-array-of-tables", "sweep", "{tmp}/s.toml", "--out", "{tmp}/out.zarr",
        files={"s.toml": toml("-[train]") + "[[train]]\nn_steps = 4\n"}, expected="spec section [train] must be a table (dict), got list"),
]

NAMES = [
    spec("unknown-task", 'task.name = "flipflopp"', expected="unknown task 'flipflopp'; known tasks are"),
    spec("unknown-task-did-you-mean", 'task.name = "parrity"', expected="Did you mean 'parity'?"),
    spec("unknown-model", 'model.name = "ctrn"', expected="unknown model 'ctrn'; known models are"),
    spec("unknown-model-did-you-mean", 'model.name = "lsmt"', expected="Did you mean 'lstm'?"),
    spec("model-name-number", "model.name = 5", expected="model: the name must be a string, got 5"),
    spec("task-name-empty", 'task.name = ""', expected="unknown task ''"),
    spec("task-name-empty-list", "task.name = []", expected="[task] name: an empty list is not a sweep axis"),
    spec("unknown-optimizer", 'train.optimizer = "adm"', expected="spec [train]: unknown optimizer 'adm'"),
    spec("unknown-optimizer-did-you-mean", 'train.optimizer = "sdg"', expected="Did you mean 'sgd'?"),
    spec("unknown-curriculum", 'train.curriculum = "multihead"',
         expected="curriculum='multihead' is not one of"),
    spec("curriculum-options-without-curriculum", "train.curriculum_width = 2",
         expected="curriculum options ['width'] are set but no `curriculum` is named"),
    spec("sliding-window-without-width", 'train.curriculum = "sliding_window"', expected="needs curriculum_width"),
]

CUSTOM = [
    spec("custom-missing-module", 'task.name = "ndcustom_nowhere:MyTask"',
         expected="cannot import module 'ndcustom_nowhere' (No module named 'ndcustom_nowhere'). Install it, or put its folder on the Python path"),
    spec("custom-two-colons", 'task.name = "a:b:C"',
         expected="task 'a:b:C': an import path is 'package.module:ClassName', with one ':'"),
    spec("custom-no-module", 'task.name = ":MyTask"', expected="an import path is 'package.module:ClassName'"),
    spec("custom-no-class", 'model.name = "os.path:"', expected="an import path is 'package.module:ClassName'"),
    custom("custom-syntax-error", "class MyTask(:\n    pass\n", "{module}.py:1 (invalid syntax); fix the module"),
    custom("custom-raises-on-import", "raise RuntimeError('no GPU here')\n",
           "importing module '{module}' raised RuntimeError: no GPU here"),
    custom("custom-imports-missing", "import ndcustom_not_installed\n",
           "cannot import module '{module}' (No module named 'ndcustom_not_installed')"),
    custom("custom-no-such-class", "class Other:\n    pass\n", "module '{module}' has no attribute 'MyTask'"),
    custom("custom-not-a-task", "class MyTask:\n    pass\n",
           "MyTask is the class MyTask, not a subclass of neurodyn.tasks.AbstractTask"),
    custom("custom-a-function", "def MyTask():\n    pass\n", "MyTask is function, not a subclass"),
    custom("custom-model-not-a-model", "class MyRNN:\n    pass\n",
           "not a subclass of neurodyn.models.AbstractRNN", attr="MyRNN", section="model"),
    custom("custom-constructor-raises",
           "from neurodyn.tasks import FlipFlop\n\nclass MyTask(FlipFlop):\n"
           "    def __init__(self, n_bits: int = 2):\n"
           "        raise RuntimeError('bad arguments')\n",
           "its constructor raised RuntimeError: bad arguments (parameters {'n_bits': 2})"),
    custom("custom-abstract-task", "from neurodyn.tasks import AbstractTask\n\nclass MyTask(AbstractTask):\n    pass\n",
           "MyTask is abstract: it does not define ['input_size', 'metric', 'n_time', 'ood', 'output_size', 'sample']"),
]

KEYS = [
    spec("unknown-task-key", "task.n_bit = 2", expected="[task] flipflop: unknown parameter 'n_bit'. Did you mean 'n_bits'?"),
    spec("unknown-model-key", "model.hiden_size = 8",
         expected="[model] ctrnn: unknown parameter 'hiden_size'. Did you mean 'hidden_size'?"),
    spec("implicit-model-key", "model.input_size = 3", expected="unknown parameter 'input_size'"),
    spec("key-of-another-model", 'model.name = "gru"', "model.tau = 2.0", expected="[model] gru: unknown parameter 'tau'"),
    spec("unknown-train-key", "train.n_step = 4", expected="[train]: unknown parameter 'n_step'. Did you mean 'n_steps'?"),
    spec("unknown-train-key-log-every", 'train.log_every = "often"', expected="[train]: unknown parameter 'log_every'"),
    spec("optimizer-option-of-another", 'train.optimizer = "sgd"', "train.b1 = 0.9", expected="unknown parameter 'b1'"),
    spec("unknown-sweep-key", "sweep.seed = 3", expected="[sweep]: unknown key 'seed'. Did you mean 'seeds'?"),
    spec("unknown-sweep-key-plural", "sweep.members_per_chunks = 4",
         expected="unknown key 'members_per_chunks'. Did you mean 'members_per_chunk'?"),
]

TYPES = [
    spec("hidden-size-string", 'model.hidden_size = "eight"', expected="hidden_size='eight' must be a number (int), got str"),
    spec("hidden-size-fraction", "model.hidden_size = 8.5", expected="hidden_size=8.5 must be a whole number"),
    spec("hidden-size-bool", "model.hidden_size = true", expected="hidden_size=True must be a number (int)"),
    spec("hidden-size-table", "model.hidden_size = {a = 1}", expected="hidden_size={'a': 1} must be a number"),
    spec("hidden-size-zero", "model.hidden_size = 0", expected="hidden_size=0 is out of range; allowed: int in [1, inf)"),
    spec("hidden-size-negative", "model.hidden_size = -3", expected="hidden_size=-3 is out of range"),
    spec("hidden-size-huge", "model.hidden_size = 4611686018427387904", expected="most of it for the parameters, gradients and optimiser moments (hidden_size"),
    spec("hidden-size-million", "model.hidden_size = 1e6", expected="most of it for the parameters, gradients and optimiser moments (hidden_size"),
    spec("hidden-size-list-mixed", 'model.hidden_size = [8, "x"]', expected="hidden_size='x' must be a number (int), got str"),
    spec("hidden-size-list-bad-member", "model.hidden_size = [8, -1]", expected="hidden_size=-1 is out of range"),
    spec("hidden-size-empty-list", "model.hidden_size = []", expected="[model] hidden_size: an empty list is not a sweep axis"),
    spec("tau-string", 'model.tau = "fast"', expected="tau='fast' must be a number (float), got str"),
    spec("tau-zero", "model.tau = 0", expected="tau=0.0 is out of range; allowed: float in (0, inf)"),
    spec("tau-nan", "model.tau = nan", expected="tau=nan is out of range"),
    spec("dt-negative", "model.dt = -0.1", expected="dt=-0.1 is out of range"),
    spec("noise-negative", "model.noise_std = -0.1", expected="noise_std=-0.1 is out of range; allowed: float in [0, inf)"),
    spec("activation-typo", 'model.activation = "tanhh"', expected="activation='tanhh' is not allowed; expected one of"),
    spec("activation-did-you-mean", 'model.activation = "relu6"', expected="Did you mean 'relu'?"),
    spec("activation-number", "model.activation = 3", expected="activation=3 is not allowed"),
    spec("activation-markup", 'model.activation = "[bold]tanh"', expected="ctrnn.activation='[bold]tanh' is not allowed"),
    spec("activation-emoji-code", 'model.activation = ":fire:"', expected="ctrnn.activation=':fire:' is not allowed"),
    spec("formulation-typo", 'model.formulation = "volt"', expected="Did you mean 'voltage'?"),
    spec("connectivity-zero", "model.connectivity = 0", expected="connectivity=0.0 is out of range"),
    spec("excitatory-fraction-one", "model.excitatory_fraction = 1.0", expected="excitatory_fraction=1.0 is out of range"),
    spec("n-bits-zero", "task.n_bits = 0", expected="n_bits=0 is out of range"),
    spec("n-bits-string", 'task.n_bits = "two"', expected="n_bits='two' must be a number (int)"),
    spec("n-bits-empty-list", "task.n_bits = []", expected="[task] n_bits: an empty list is not a sweep axis"),
    spec("n-bits-huge", "task.n_bits = 4611686018427387904",
         expected="most of it for the training and evaluation batches (batch_size, eval_batch_size × n_time × input size)"),
    spec("n-time-zero", "task.n_time = 0", expected="n_time=0 is out of range"),
    spec("n-time-huge", "task.n_time = 1e12",
         expected="most of it for the stored trajectories ([sweep] trajectories × n_time)"),
    spec("p-above-one", "task.p = 1.5", expected="p=1.5 is out of range; allowed: float in (0, 1]"),
    spec("p-zero", "task.p = 0", expected="p=0.0 is out of range"),
    spec("p-list-empty", "task.p = []", expected="[task] p: an empty list is not a sweep axis"),
]

TRAIN = [
    spec("n-steps-zero", "train.n_steps = 0", expected="[train]: TrainConfig: n_steps must be an integer >= 1, got 0"),
    spec("n-steps-negative", "train.n_steps = -5", expected="n_steps must be an integer >= 1, got -5"),
    spec("n-steps-string", 'train.n_steps = "many"', expected="n_steps must be an integer >= 1, got 'many' of type str"),
    spec("n-steps-fraction", "train.n_steps = 4.5", expected="n_steps must be an integer >= 1, got 4.5"),
    spec("n-steps-1e11", "train.n_steps = 1e11", expected="most of it for the loss and metric histories ([train] n_steps)"),
    spec("n-steps-1e11-dry-run", "train.n_steps = 1e11", options=["--dry-run"],
         expected="more than the 64 GiB of test memory. Use fewer members per region ([sweep] members_per_chunk)"),
    spec("n-steps-not-multiple", "train.n_steps = 5",
         expected="n_steps=5 is not a whole number of epochs of eval_every=2 steps (training runs whole epochs). Use n_steps=4 or 6"),
    spec("eval-every-above-n-steps", "train.eval_every = 8",
         expected="eval_every=8 is more than n_steps=4: an epoch of eval_every steps would not fit the budget. Use eval_every <= n_steps"),
    spec("eval-every-zero", "train.eval_every = 0", expected="eval_every must be an integer >= 1, got 0"),
    spec("batch-size-zero", "train.batch_size = 0", expected="batch_size must be an integer >= 1, got 0"),
    spec("batch-size-huge", "train.batch_size = 1e9", expected="most of it for the states kept for the backward pass (batch_size"),
    spec("batch-size-string", 'train.batch_size = "big"', expected="batch_size must be an integer >= 1, got 'big'"),
    spec("eval-batch-size-zero", "train.eval_batch_size = 0", expected="eval_batch_size must be an integer >= 1, got 0"),
    spec("learning-rate-negative", "train.learning_rate = -1e-3", expected="learning_rate=-0.001 is outside the allowed range (0, inf)"),
    spec("learning-rate-zero", "train.learning_rate = 0", expected="learning_rate=0.0 is outside the allowed range (0, inf)"),
    spec("learning-rate-string", 'train.learning_rate = "fast"', expected="learning_rate must be a number, got 'fast' of type str"),
    spec("learning-rate-inf", "train.learning_rate = inf", expected="learning_rate=inf is outside the allowed range"),
    spec("learning-rate-empty-list", "train.learning_rate = []",
         expected="[train] learning_rate: an empty list is not a sweep axis"),
    spec("grad-clip-negative", "train.grad_clip = -1.0", expected="grad_clip=-1.0 is outside the allowed range (0, inf)"),
    spec("patience-negative", "train.patience = -1", expected="patience must be an integer >= 0, got -1"),
    spec("l2-negative", "train.l2 = -1.0", expected="l2=-1.0 is outside the allowed range [0, inf)"),
    spec("bptt-chunk-zero", "train.bptt_chunk = 0", expected="bptt_chunk must be an integer >= 1, got 0"),
    spec("epochs-per-call-zero", "train.epochs_per_call = 0", expected="epochs_per_call must be an integer >= 1, got 0"),
    spec("optimizer-number", "train.optimizer = 3", expected="spec [train]: optimizer: the name must be a string, got 3"),
]

SWEEP_SECTION = [
    spec("seeds-zero", "sweep.seeds = 0", expected="[sweep] seeds=0 must be >= 1"),
    spec("seeds-negative", "sweep.seeds = -1", expected="[sweep] seeds=-1 must be >= 1"),
    spec("seeds-string", 'sweep.seeds = "three"', expected="[sweep] seeds='three' must be a positive integer"),
    spec("seeds-bool", "sweep.seeds = true", expected="[sweep] seeds must be a number of seeds or a list"),
    spec("seeds-fraction", "sweep.seeds = 1.5", expected="[sweep] seeds=1.5 must be a positive integer"),
    spec("seeds-empty-list", "sweep.seeds = []", expected="[sweep] seeds=[] must be a positive integer or a list"),
    spec("seeds-repeated", "sweep.seeds = [1, 1]", expected="[sweep] seeds=[1, 1] lists a seed twice"),
    spec("seeds-negative-in-list", "sweep.seeds = [-1]", expected="list of non-negative integers"),
    spec("seeds-huge", "sweep.seeds = 100000000000", expected="[sweep] seeds=100000000000 is more than the 10_000_000 members"),
    spec("members-huge", "sweep.seeds = 100000", "model.hidden_size = [4, 5, 6, 7, 8, 9, 10, 11, 12, 13]",
         "train.learning_rate = [1e-3, 2e-3, 3e-3, 4e-3, 5e-3, 6e-3, 7e-3, 8e-3, 9e-3, 1e-2, 2e-2]",
         expected="the sweep has 11_000_000 members (10 model.hidden_size × 11 train.learning_rate × 100000 seed)"),
    spec("members-per-chunk-zero", "sweep.members_per_chunk = 0", expected="[sweep] members_per_chunk=0 must be an integer >= 1"),
    spec("members-per-chunk-string", 'sweep.members_per_chunk = "x"', expected="[sweep] members_per_chunk='x' must be an integer"),
    spec("checkpoint-every-zero", "sweep.checkpoint_every = 0", expected="[sweep] checkpoint_every=0 must be an integer >= 1"),
    spec("checkpoint-every-string", 'sweep.checkpoint_every = "x"', expected="[sweep] checkpoint_every='x' must be an integer"),
    spec("trajectories-word", 'sweep.trajectories = "four"', expected="[sweep] trajectories='four' must be an integer >= 1"),
    spec("trajectories-negative", "sweep.trajectories = -3", expected="[sweep] trajectories=-3 must be an integer >= 1"),
    spec("trajectories-zero", "sweep.trajectories = 0", expected="[sweep] trajectories=0 must be an integer >= 1"),
    spec("snapshot-every-zero", "sweep.snapshot_every = 0", expected="[sweep] snapshot_every=0 must be an integer >= 1"),
    spec("name-number", "sweep.name = 5", expected="[sweep] name=5 must be a string"),
    spec("zip-one-name", 'sweep.zip = [["model.hidden_size"]]', "model.hidden_size = [8, 16]",
         expected="[sweep] zip entries must list two or more parameters"),
    spec("zip-not-a-list-axis", 'sweep.zip = [["model.hidden_size", "model.tau"]]', "model.hidden_size = [8, 16]",
         expected="[sweep] zip names 'model.tau', which is not a list-valued parameter"),
    spec("zip-unequal", 'sweep.zip = [["model.hidden_size", "model.tau"]]', "model.hidden_size = [8, 16]",
         "model.tau = [1.0, 2.0, 3.0]", expected="[sweep] zip needs lists of equal length"),
    spec("zip-number", "sweep.zip = 5", expected="spec [sweep] zip=5 must be a list of lists of parameter names"),
    spec("zip-typo-did-you-mean", 'sweep.zip = [["model.hiden_size", "model.tau"]]', "model.hidden_size = [8, 16]",
         "model.tau = [1.0, 2.0]", expected="Did you mean 'model.hidden_size'?"),
    spec("fixed-number", "sweep.fixed = 5", expected="[sweep] fixed must be a table"),
    spec("fixed-bare-key", extra='[sweep.fixed]\ntau = [1.0]\n', expected="[sweep.fixed]: 'tau' must be written as"),
    spec("derived-number", extra='[sweep.derived]\n"train.learning_rate" = 5\n',
         expected="[sweep.derived]: train.learning_rate must be an expression string"),
    spec("derived-bare-key", extra='[sweep.derived]\nlearning_rate = "0.01"\n',
         expected="[sweep.derived]: 'learning_rate' must be written as"),
    spec("derived-syntax", 'train.learning_rate = "= 0.01 *"', expected="spec [train] learning_rate: cannot parse the expression"),
    spec("derived-unknown-name", 'train.learning_rate = "= 0.01 * gama"', expected="spec [train] learning_rate: the expression ' 0.01 * gama' uses 'gama'"),
    spec("derived-division-by-zero", 'train.learning_rate = "= 1 / 0"', expected="[train] learning_rate: the expression"),
    spec("derived-cycle", 'model.tau = "= 2 * gain"', 'model.gain = "= tau / 2"',
         expected="derived parameters refer to each other in a cycle"),
]

OPTIONS = [
    spec("devices-zero", options=["--devices", "0"], expected="--devices 0 must be 1 or more"),
    spec("devices-negative", options=["--devices", "-1"], expected="--devices -1 must be 1 or more"),
    spec("devices-too-many", options=["--devices", "999"], expected="devices=999 but only"),
    spec("devices-word", options=["--devices", "two"], expected="Invalid value for '--devices'"),
    spec("unknown-option", options=["--dryrun"], expected="No such option: --dryrun (Possible options: --dry-run)"),
    spec("executor-typo", options=["--executor", "slurmm"], expected="executor='slurmm' is not one of"),
    spec("local-executor-with-options", options=["--partition", "gpu"],
         expected="executor_options ['partition'] apply to the submitit executors only"),
    spec("bad-time", options=["--executor", "submitit-local", "--time", "soon"],
         expected="time='soon' must be minutes (e.g. 120) or 'HH:MM:SS'"),
    spec("members-per-job-zero", options=["--executor", "submitit-local", "--members-per-job", "0"],
         expected="members_per_job=0 must be an integer >= 1"),
    spec("jobs-zero", options=["--executor", "submitit-local", "--jobs", "0"], expected="jobs=0 must be an integer >= 1"),
    spec("jobs-and-members-per-job", options=["--executor", "submitit-local", "--jobs", "2", "--members-per-job", "2"],
         expected="give at most one of executor_options members_per_job and jobs"),
    spec("resume-and-overwrite", options=["--resume", "--overwrite"], expected="choose one of resume=True (--resume)"),
    cli("out-missing", "sweep", "{tmp}/spec.toml", expected="Missing option '--out'. See 'neurodyn sweep -h'."),
    cli("out-empty", "sweep", "{tmp}/spec.toml", "--out", "", expected="store path '' is empty"),
    cli("out-blank", "sweep", "{tmp}/spec.toml", "--out", "  ", expected="is empty; give a directory such as 'run.zarr'"),
    cli("out-double-colon", "sweep", "{tmp}/spec.toml", "--out", "{tmp}/a::b.zarr", expected="contains '::'"),
    cli("out-unknown-protocol", "sweep", "{tmp}/spec.toml", "--out", "nosuchproto://bucket/run.zarr",
        expected="nosuchproto"),
    cli("out-is-a-file", "sweep", "{tmp}/spec.toml", "--out", "{tmp}/spec.toml", expected="'{tmp}/spec.toml' is a file, not a store"),
    cli("out-not-a-store", "sweep", "{tmp}/spec.toml", "--out", "{tmp}/folder",
        files={"folder/notes.txt": "mine"}, expected="already exists and is not a neurodyn store"),
    cli("out-overwrite-not-a-store", "sweep", "{tmp}/spec.toml", "--out", "{tmp}/folder", "--overwrite",
        files={"folder/notes.txt": "mine"}, expected="'{tmp}/folder'"),
    cli("out-dot", "sweep", "{tmp}/spec.toml", "--out", ".", expected="'.' already exists and is not a neurodyn store"),
    cli("resume-missing-store", "sweep", "{tmp}/spec.toml", "--out", "{tmp}/none.zarr", "--resume",
        expected="No store at '{tmp}/none.zarr'"),
    cli("resume-not-a-store", "sweep", "{tmp}/spec.toml", "--out", "{tmp}/folder", "--resume",
        files={"folder/notes.txt": "mine"}, expected="is not a neurodyn store"),
    cli("missing-spec-argument", "sweep", expected="Missing argument 'spec'"),
    cli("unknown-command", "swep", expected="No such command 'swep'. Did you mean 'sweep'? See 'neurodyn -h'."),
    cli("unknown-root-option", "--verbose", "info", "{tmp}", expected="No such option: --verbose"),
    cli("extra-argument", "info", "{tmp}/a.zarr", "{tmp}/b.zarr", expected="Got unexpected extra argument"),
]

ZARR_GROUP = {"zarr.json": json.dumps({"zarr_format": 3, "node_type": "group", "attributes": {}})}
STORES = [
    cli("analyze-no-analysis", "analyze", "{tmp}/none.zarr", expected="choose an analysis: --fixed-points"),
    cli("analyze-n-initial-zero", "analyze", "{tmp}/none.zarr", "--fixed-points", "--n-initial", "0",
        expected="n_initial must be an integer >= 1, got 0"),
    cli("analyze-n-initial-negative", "analyze", "{tmp}/none.zarr", "--fixed-points", "--n-initial", "-4",
        expected="n_initial must be an integer >= 1, got -4"),
    cli("analyze-n-iters-negative", "analyze", "{tmp}/none.zarr", "--fixed-points", "--n-iters", "-1",
        expected="fixed_points: n_iters must be an integer >= 0, got -1"),
    cli("analyze-n-steps-zero", "analyze", "{tmp}/none.zarr", "--timescales", "--n-steps", "0",
        expected="timescales: n_steps must be an integer >= 1, got 0"),
    cli("analyze-members-per-chunk-zero", "analyze", "{tmp}/none.zarr", "--fixed-points", "--members-per-chunk", "0",
        expected="members_per_chunk=0 must be an integer >= 1"),
    cli("analyze-input-typo", "analyze", "{tmp}/none.zarr", "--timescales", "--input", "binry",
        expected="Did you mean 'binary'?"),
    cli("analyze-level-typo", "analyze", "{tmp}/none.zarr", "--degeneracy", "--level", "weight",
        expected="degeneracy: levels='weight' is not one of ['behaviour', 'dynamics', 'weights', 'representations', 'feature_learning']. Did you mean 'weights'?"),
    cli("analyze-rank-zero", "analyze", "{tmp}/none.zarr", "--degeneracy", "--rank", "0",
        expected="degeneracy: rank must be an integer >= 1 or one of ['explained_variance'], got 0."),
    cli("analyze-rank-typo", "analyze", "{tmp}/none.zarr", "--degeneracy", "--rank", "explained",
        expected="Did you mean 'explained_variance'?"),
    cli("analyze-degeneracy-setting-typo", "analyze", "{tmp}/none.zarr", "--degeneracy", "--degeneracy-setting",
        "n_delay=3", expected="n_delays"),
    cli("analyze-time-solver-typo", "analyze", "{tmp}/none.zarr", "--timescales", "--time-solver", "newton",
        expected="timescales: time_solver='newton' is not one of ['scan', 'deer', 'quasi_deer', 'elk', 'quasi_elk', 'auto']."),
    cli("analyze-select-no-equals", "analyze", "{tmp}/none.zarr", "--fixed-points", "--select", "seed",
        expected="--select 'seed' must look like name=value, e.g. seed=0"),
    cli("analyze-select-no-name", "analyze", "{tmp}/none.zarr", "--fixed-points", "--select", "=3",
        expected="--select '=3' must look like name=value"),
    cli("analyze-unknown-flag", "analyze", "{tmp}/none.zarr", "--fixed-point",
        expected="No such option: --fixed-point (Possible options: --fixed-points)"),
    cli("analyze-n-initial-word", "analyze", "{tmp}/none.zarr", "--fixed-points", "--n-initial", "many",
        expected="Invalid value for '--n-initial'"),
    cli("analyze-missing-store", "analyze", "{tmp}/none.zarr", "--fixed-points", expected="No store at '{tmp}/none.zarr'"),
    cli("analyze-not-a-store", "analyze", "{tmp}", "--fixed-points", expected="is not a neurodyn store"),
    cli("analyze-a-file", "analyze", "{tmp}/spec.toml", "--fixed-points", expected="is not a neurodyn store"),
    cli("analyze-empty-path", "analyze", "", "--fixed-points", expected="store path '' is empty"),
    cli("analyze-double-colon", "analyze", "{tmp}/a::b.zarr", "--timescales", expected="contains '::'"),
    cli("analyze-plain-zarr", "analyze", "{tmp}/plain.zarr", "--fixed-points",
        files={f"plain.zarr/{k}": v for k, v in ZARR_GROUP.items()}, expected="without the 'neurodyn' root attribute"),
    cli("info-missing", "info", "{tmp}/none.zarr", expected="No store at '{tmp}/none.zarr'"),
    cli("info-not-a-store", "info", "{tmp}", expected="'{tmp}' is not a neurodyn store"),
    cli("info-a-file", "info", "{tmp}/spec.toml", expected="is not a neurodyn store"),
    cli("info-empty-path", "info", "", expected="store path '' is empty"),
    cli("info-double-colon", "info", "{tmp}/a::b.zarr", expected="contains '::'"),
    cli("info-plain-zarr", "info", "{tmp}/plain.zarr",
        files={f"plain.zarr/{k}": v for k, v in ZARR_GROUP.items()}, expected="without the 'neurodyn' root attribute"),
    cli("info-garbage-metadata", "info", "{tmp}/bad.zarr", files={"bad.zarr/zarr.json": "{not json"},
        expected="'{tmp}/bad.zarr/zarr.json' is damaged (not valid JSON)"),
    cli("info-missing-argument", "info", expected="Missing argument 'store'. See 'neurodyn info -h'."),
    cli("verify-missing", "verify", "{tmp}/none.zarr", expected="No store at '{tmp}/none.zarr'"),
    cli("verify-not-a-store", "verify", "{tmp}",
        expected="'{tmp}' is not a neurodyn store (no zarr.json: not a zarr v3 store). Give the path of a store written by `neurodyn sweep`"),
    cli("verify-a-file", "verify", "{tmp}/spec.toml", "--sizes-only", expected="is not a neurodyn store"),
    cli("verify-plain-zarr", "verify", "{tmp}/plain.zarr",
        files={f"plain.zarr/{k}": v for k, v in ZARR_GROUP.items()}, expected="without the 'neurodyn' root attribute"),
    cli("status-is-not-a-command", "status", "{tmp}", expected="No such command 'status'"),
    cli("verify-double-colon", "verify", "{tmp}/a::b.zarr", expected="contains '::'"),
    cli("demo-out-a-file", "demo", "--tiny", "--out", "{tmp}/spec.toml",
        expected="--out '{tmp}/spec.toml' is a file; the demo writes a folder"),
    cli("demo-out-empty", "demo", "--tiny", "--out", "", expected="--out '' is empty; give a folder"),
    cli("demo-out-holds-a-store", "demo", "--tiny", "--out", "{tmp}/d", files={"d/demo.zarr/zarr.json": "{}"},
        expected="'{tmp}/d/demo.zarr' already holds a store (an earlier demo?). Replace it with `neurodyn demo --overwrite`"),
]

CASES = FILES + SECTIONS + NAMES + CUSTOM + KEYS + TYPES + TRAIN + SWEEP_SECTION + OPTIONS + STORES


def _no_training(*args, **kwargs):
    raise AssertionError("a malformed input reached training")


@pytest.mark.parametrize(("args", "files", "expected"), CASES)
def test_malformed_input_is_one_line_error(args, files, expected, tmp_path, monkeypatch):
    monkeypatch.setattr(neurodyn.sweep._run, "train_region", _no_training)
    monkeypatch.setattr(neurodyn.sweep._plan, "available_bytes", lambda devices=None: (64 * 2**30, "test memory"))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    tmp = str(tmp_path)
    result = runner.invoke(app, [a.replace("{tmp}", tmp) for a in args], prog_name="neurodyn", env={"COLUMNS": "80"})
    error = result.stderr
    assert not isinstance(result.exception, AssertionError), result.output
    assert (result.exit_code, result.stdout) == (2, ""), result.output
    assert error.startswith("error: ") and error.endswith("\n") and error.count("\n") == 1, error
    assert expected.replace("{tmp}", tmp) in error, error
    assert not any(marker in error for marker in INTERNALS), error
    assert not (tmp_path / "out.zarr").exists()


def test_at_least_a_hundred_cases():
    assert len(CASES) >= 100
    assert len({case.id for case in CASES}) == len(CASES)
