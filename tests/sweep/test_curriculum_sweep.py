import pytest

import neurodyn
from neurodyn import store

SPEC = {
    "task": {"name": "parity", "n": 2, "n_cap": 4, "heads": "multi"},
    "model": {"name": "leaky_rate", "hidden_size": 8},
    "train": {
        "learning_rate": 1e-2,
        "n_steps": 8,
        "eval_every": 4,
        "batch_size": 4,
        "eval_batch_size": 4,
        "curriculum": "multi_head",
        "curriculum_threshold": [0.0, 0.999],
        "curriculum_eval_batch_size": 8,
    },
    "sweep": {"seeds": 1, "trajectories": 2},
}


@pytest.mark.slow  # a curriculum sweep; the quick curriculum experiment covers it too
def test_curriculum_state_is_stored_per_member(tmp_path):
    out = tmp_path / "c.zarr"
    neurodyn.run_sweep(SPEC, out, progress=False)
    members = store.read_members(out)
    assert members["curriculum_threshold"].values.tolist() == [0.0, 0.999]
    # thresholds differ in the static curriculum object: two groups
    n_reached = []
    for g in store.open_store(out).groups:
        ds = store.read_group(out, g).load()
        assert ds["curriculum_reached"].dims == ("member", "n")
        assert ds["n"].values.tolist() == [1, 2, 3, 4]
        n_reached.extend(ds["curriculum_n"].values.tolist())
    # threshold 0 advances after every epoch (2 epochs: N 2 -> 4); 0.999 cannot be passed in 8 steps
    assert sorted(n_reached) == [2, 4]


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"curriculum": "multihead"}, r"curriculum='multihead' is not one of .*Did you mean 'multi_head'"),
        ({"curriculum": None, "curriculum_threshold": 0.5}, r"no `curriculum` is named"),
        ({"curriculum": "sliding_window"}, r"needs curriculum_width"),
    ],
)
def test_bad_curriculum_settings(changes, match):
    import json

    spec = json.loads(json.dumps(SPEC))
    spec["train"].pop("curriculum_threshold")
    for k, v in changes.items():
        if v is None:
            spec["train"].pop(k, None)
        else:
            spec["train"][k] = v
    with pytest.raises((ValueError, TypeError), match=match):
        neurodyn.sweep.plan_sweep(neurodyn.SweepSpec.from_dict(spec))
