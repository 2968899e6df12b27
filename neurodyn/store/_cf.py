"""What every stored variable is, in the CF convention's attributes.

Every variable and coordinate a store writes carries `long_name` (what it is, in words)
and, where it has one, `units` ("1" for fractions and other pure numbers, "steps" for
counts of time or training steps); flags carry `flag_values` / `flag_meanings`. A writer
may set its own; otherwise the names below decide: exact names first, then the
`init_`, `final_` and `snapshot_` prefixes of model parameters, and for anything else
the name in words. A `description` attribute (older stores) becomes `long_name`.
"""

import xarray as xr

#: name -> (long_name, units or None)
VARIABLES = {
    # members table
    "member": ("member id (position in the sweep's expansion)", None),
    "seed": ("random seed of the member", None),
    "model": ("model name", None),
    "task": ("task name", None),
    "group": ("group holding the member (one compiled program)", None),
    "region": ("region of the group that trains and stores the member", None),
    "params": ("the member's full task, model and training parameters (JSON)", None),
    "status": ("training status: pending (not trained yet), ok (met the stopping rule, or trained without one), "
               "not_converged (budget spent above the loss threshold) or diverged (non-finite loss)", None),
    "final_loss": ("held-out loss after training", None),
    "final_metric": ("held-out task metric after training", None),
    "steps_trained": ("training steps taken", "steps"),
    # training curves and state
    "loss": ("training-batch loss at each step (NaN after the member stopped)", None),
    "metric": ("training-batch task metric at each step (NaN after the member stopped)", None),
    "eval_loss": ("loss on the fixed held-out batch after each epoch", None),
    "eval_metric": ("task metric on the fixed held-out batch after each epoch", None),
    "done": ("training finished (step budget spent or stopping rule met)", None),
    "diverged": ("training stopped because the loss became non-finite", None),
    "step": ("training step", "steps"),
    "epoch": ("epoch (eval_every training steps)", None),
    "eval_step": ("training step of the evaluation after each epoch", "steps"),
    "snapshot": ("parameter snapshot", None),
    "snapshot_step": ("training step of each parameter snapshot", "steps"),
    "n": ("task difficulty N (e.g. the parity order) of a curriculum", None),
    # evaluation batch and trajectories
    "trial": ("evaluation trial", None),
    "time": ("time step within a trial", "steps"),
    "t": ("time within a trial, in the model's time units (time step × dt)", "model time units"),
    "inputs": ("inputs of the evaluation batch", None),
    "targets": ("targets of the evaluation batch", None),
    "mask": ("loss mask of the evaluation batch (1 where the target counts)", "1"),
    "states": ("full recurrent state on the evaluation batch after training", None),
    "outputs": ("network output on the evaluation batch after training", None),
    # curriculum state
    "curriculum_n": ("current N of the curriculum", None),
    "curriculum_epoch": ("epochs the curriculum has evaluated", None),
    "curriculum_reached": ("epoch at which each N was reached (-1: not reached)", None),
    "curriculum_accuracy": ("accuracy per N at the latest curriculum evaluation", "1"),
    "curriculum_finished": ("the curriculum reached and mastered its cap N", None),
    "curriculum_finished_epoch": ("epoch at which the curriculum finished (-1: not finished)", None),
    "curriculum_threshold": ("accuracy above which the curriculum advances", "1"),
}

#: model parameter fields -> what they are
PARAMETERS = {
    "W_rec": "recurrent weights",
    "W_in": "input weights",
    "W_out": "readout weights",
    "b": "recurrent bias",
    "b_out": "readout bias",
    "tau": "time constant per unit",
    "h0": "initial state",
    "gain": "initialisation gain",
    "noise_std": "process-noise standard deviation",
    "sign": "Dale sign per presynaptic unit",
    "mask": "connectivity mask",
    "m": "low-rank left connectivity vectors",
    "n": "low-rank right connectivity vectors",
    "gamma": "feature-learning strength γ",
}

_PREFIXES = {"init_": "at initialisation", "final_": "after training", "snapshot_": "at each snapshot"}


def attributes(name: str) -> dict[str, str]:
    """`long_name` (and `units` where known) for a stored variable called `name`."""
    if name in VARIABLES:
        long_name, units = VARIABLES[name]
        return {"long_name": long_name, **({"units": units} if units else {})}
    for prefix, when in _PREFIXES.items():
        if name.startswith(prefix):
            field = name[len(prefix):]
            what = PARAMETERS.get(field, f"model parameter {field}")
            return {"long_name": f"{what} {when}"}
    return {"long_name": name.replace("_", " ").strip() or name}


def describe(ds: xr.Dataset) -> xr.Dataset:
    """`ds` (shallow copy) with `long_name`/`units` on every variable that lacks them."""
    out = ds.copy(deep=False)
    for name in list(out.variables):
        var = out.variables[name]
        attrs = dict(var.attrs)
        if "long_name" not in attrs:
            if "description" in attrs:
                attrs["long_name"] = attrs.pop("description")
            else:
                attrs.update({k: v for k, v in attributes(str(name)).items() if k not in attrs})
        elif "units" not in attrs and str(name) in VARIABLES and VARIABLES[str(name)][1]:
            attrs["units"] = VARIABLES[str(name)][1]
        attrs.pop("description", None)
        var.attrs = attrs
    return out
