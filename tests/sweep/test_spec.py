import pytest

from neurodyn.spec import SweepSpec
from neurodyn.sweep import plan_sweep

BASE = {
    "task": {"name": "flipflop", "n_bits": 2, "n_time": 10},
    "model": {"name": "ctrnn", "hidden_size": 8, "dt": 0.2},
    "train": {"n_steps": 4, "eval_every": 2, "batch_size": 4, "eval_batch_size": 4},
    "sweep": {},
}


def spec(**changes):
    data = {k: dict(v) for k, v in BASE.items()}
    for key, value in changes.items():
        section, name = key.split("__", 1)
        if value is _DELETE:
            data[section].pop(name, None)
        else:
            data[section][name] = value
    return SweepSpec.from_dict(data)


_DELETE = object()


def test_product_of_axes_and_seeds():
    members = spec(model__hidden_size=[8, 16], train__learning_rate=[1e-3, 1e-2], sweep__seeds=3).expand()
    assert len(members) == 2 * 2 * 3
    combos = {(m.model["hidden_size"], m.train["learning_rate"], m.seed) for m in members}
    assert len(combos) == 12
    assert members[0].coords == {"hidden_size": 8, "learning_rate": 1e-3, "seed": 0}


def test_zipped_axes_vary_together():
    s = spec(
        model__gamma=[0.5, 1.0, 2.0],
        train__learning_rate=[0.005, 0.01, 0.02],
        sweep__zip=[["model.gamma", "train.learning_rate"]],
        sweep__seeds=2,
    )
    pairs = sorted({(m.model["gamma"], m.train["learning_rate"]) for m in s.expand()})
    assert pairs == [(0.5, 0.005), (1.0, 0.01), (2.0, 0.02)]
    assert len(s.expand()) == 6


def test_derived_axis_from_an_expression():
    s = spec(model__gamma=[0.5, 2.0], train__learning_rate="= 0.01 * gamma")
    values = {m.model["gamma"]: m.train["learning_rate"] for m in s.expand()}
    assert values == {0.5: 0.005, 2.0: 0.02}
    assert s.expand()[1].coords["learning_rate"] == 0.02
    s = spec(model__gamma=[4.0], sweep__derived={"train.learning_rate": "0.001 * sqrt(model.gamma)"})
    assert s.expand()[0].train["learning_rate"] == pytest.approx(0.002)


def test_numbers_are_coerced_to_one_type_per_field():
    members = spec(model__hidden_size=[8.0, 16], model__tau=[1, 2.5]).validate()
    assert {type(m.model["hidden_size"]) for m in members} == {int}
    assert {type(m.model["tau"]) for m in members} == {float}


def test_seed_list_and_fixed_list_value():
    s = spec(sweep__seeds=[3, 7], sweep__fixed={"model.tau": [1.0] * 8})
    members = s.expand()
    assert [m.seed for m in members] == [3, 7]
    assert members[0].model["tau"] == [1.0] * 8


def test_members_differing_in_numbers_share_a_group():
    plan = plan_sweep(spec(train__learning_rate=[1e-3, 1e-2], model__gain=[0.8, 1.2], task__p=[0.05, 0.1], model__noise_std=[0.0, 0.1]))
    assert len(plan.groups) == 1 and len(plan.groups[0].members) == 16


def test_members_differing_in_structure_form_groups():
    plan = plan_sweep(spec(model__hidden_size=[8, 12], model__activation=["tanh", "relu"], train__optimizer=["adam", "sgd"]))
    assert len(plan.groups) == 8
    plan = plan_sweep(spec(sweep__members_per_chunk=3, sweep__seeds=7))
    assert [r.stop - r.start for r in plan.groups[0].regions()] == [3, 3, 1]


def test_toml_round_trip(tmp_path):
    s = spec(model__hidden_size=[8, 16], sweep__seeds=2, sweep__derived={"train.learning_rate": "0.01"})
    path = tmp_path / "s.toml"
    path.write_text(s.to_toml())
    assert SweepSpec.from_toml(path).to_dict() == s.to_dict()


MALFORMED = [
    (dict(task__name="flipflp"), r"unknown task 'flipflp'.*Did you mean 'flipflop'"),
    (dict(task__n_bit=3), r"\[task\] flipflop: unknown parameter 'n_bit'\. Did you mean 'n_bits'"),
    (dict(task__n_bits=0), r"n_bits=0 is out of range; allowed: int in \[1, inf\)"),
    (dict(task__p=[0.1, 1.5]), r"p=1\.5 is out of range; allowed: float in \(0, 1\]"),
    (dict(model__name="ctrn"), r"unknown model 'ctrn'.*Did you mean 'ctrnn'"),
    (dict(model__hidden_size=-3), r"hidden_size=-3 is out of range"),
    (dict(model__hidden_size=[8, 0]), r"hidden_size=0 is out of range"),
    (dict(model__hidden_siz=8), r"unknown parameter 'hidden_siz'\. Did you mean 'hidden_size'"),
    (dict(model__tau=0.0), r"tau=0\.0 is out of range; allowed: float in \(0, inf\)"),
    (dict(model__activation="sigmoidd"), r"activation='sigmoidd' is not allowed"),
    (dict(train__learning_rate=-0.1), r"\[train\].*learning_rate=-0\.1 is outside the allowed range"),
    (dict(train__optimizer="adamm"), r"unknown optimizer 'adamm'.*Did you mean 'adam'"),
    (dict(train__learning_rat=0.1), r"\[train\]: unknown parameter 'learning_rat'\. Did you mean 'learning_rate'"),
    (dict(train__batch_size=0), r"batch_size must be an integer >= 1, got 0"),
    (dict(sweep__seeds=0), r"seeds=0 must be >= 1"),
    (dict(sweep__seed=2), r"unknown key 'seed'\. Did you mean 'seeds'"),
    (dict(sweep__zip=[["model.hidden_size", "train.learning_rate"]], model__hidden_size=[8, 16], train__learning_rate=[0.1]), r"zip needs lists of equal length"),
    (dict(sweep__zip=[["model.gain", "train.learning_rate"]], train__learning_rate=[0.1, 0.2]), r"zip names 'model\.gain', which is not a list-valued parameter"),
    (dict(train__learning_rate="= 0.01 * gama", model__gamma=[1.0]), r"uses 'gama', which is not a parameter of this sweep"),
    (dict(train__learning_rate="= 0.01 * __import__('os')"), r"may only use numbers, parameter names"),
    (dict(model__hidden_size=[]), r"an empty list is not a sweep axis"),
    (dict(sweep__members_per_chunk=0), r"members_per_chunk=0 must be an integer >= 1"),
]


@pytest.mark.parametrize("changes, match", MALFORMED)
def test_malformed_specs_are_refused_before_compiling(changes, match):
    with pytest.raises((ValueError, TypeError), match=match):
        plan_sweep(spec(**changes))


def test_spec_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        SweepSpec.from_toml(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[task\nname = 'flipflop'")
    with pytest.raises(ValueError, match="is not valid TOML"):
        SweepSpec.from_toml(bad)
    with pytest.raises(ValueError, match=r"unknown section \[modle\]\. Did you mean 'model'"):
        SweepSpec.from_dict({"task": {"name": "flipflop"}, "modle": {}})
    with pytest.raises(ValueError, match=r"the section \[model\] is missing"):
        SweepSpec.from_dict({"task": {"name": "flipflop"}})
