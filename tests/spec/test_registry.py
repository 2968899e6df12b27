import pytest

from neurodyn.spec import MODELS, OPTIMIZERS, TASKS


def test_defaults_filled_and_numbers_coerced():
    params = TASKS.validate("flipflop", {"n_bits": 2.0, "p": 1})
    assert params["n_bits"] == 2 and isinstance(params["n_bits"], int)
    assert params["p"] == 1.0 and isinstance(params["p"], float)
    assert params["n_time"] == 100 and params["pulse_width"] == 1


def test_models_build_by_name_with_task_sizes():
    import jax.random as jr

    model = MODELS.build("ctrnn", {"hidden_size": 5, "tau": 2}, input_size=3, output_size=2, key=jr.key(0))
    assert (model.input_size, model.hidden_size, model.output_size) == (3, 5, 2)
    assert float(model.tau[0]) == 2.0


def test_custom_class_by_import_path():
    entry = TASKS.get("neurodyn.tasks:FlipFlop")
    assert entry.cls.__name__ == "FlipFlop"
    assert TASKS.validate("neurodyn.tasks:FlipFlop", {"n_bits": 4})["n_bits"] == 4


@pytest.mark.parametrize(
    "registry, name, params, match",
    [
        (TASKS, "flipflp", {}, r"unknown task 'flipflp'.*Did you mean 'flipflop'\?"),
        (TASKS, "flipflop", {"n_bit": 3}, r"unknown parameter 'n_bit'\. Did you mean 'n_bits'\?"),
        (TASKS, "flipflop", {"n_bits": 0}, r"flipflop\.n_bits=0 is out of range; allowed: int in \[1, inf\)"),
        (TASKS, "flipflop", {"n_bits": 2.5}, r"n_bits=2\.5 must be a whole number"),
        (TASKS, "flipflop", {"p": 1.5}, r"flipflop\.p=1\.5 is out of range; allowed: float in \(0, 1\]"),
        (TASKS, "flipflop", {"p": "high"}, r"p='high' must be a number \(float\)"),
        (MODELS, "ctrn", {}, r"unknown model 'ctrn'.*Did you mean 'ctrnn'\?"),
        (MODELS, "ctrnn", {"hidden_size": -4}, r"ctrnn\.hidden_size=-4 is out of range"),
        (MODELS, "ctrnn", {"tau": 0.0}, r"ctrnn\.tau=0\.0 is out of range; allowed: float in \(0, inf\)"),
        (MODELS, "ctrnn", {"activation": "tanhh"}, r"activation='tanhh' is not allowed.*Did you mean 'tanh'\?"),
        (MODELS, "ctrnn", {"input_size": 3}, r"unknown parameter 'input_size'"),
        (OPTIMIZERS, "adma", {}, r"unknown optimizer 'adma'.*Did you mean 'adam'\?"),
        (OPTIMIZERS, "sgd", {"momentum": 2.0}, r"sgd\.momentum=2\.0 is out of range"),
        (TASKS, "no_such_module_xyz:Task", {}, r"cannot import module 'no_such_module_xyz'"),
        (TASKS, "neurodyn.tasks:NoSuchTask", {}, r"has no attribute 'NoSuchTask'"),
    ],
)
def test_bad_specs_name_the_field_and_the_fix(registry, name, params, match):
    with pytest.raises((ValueError, TypeError), match=match):
        registry.validate(name, params)


def test_every_registered_parameter_has_a_description_or_range():
    for registry in (MODELS, TASKS):
        for name, entry in registry.entries().items():
            for p in entry.user_params():
                assert p.doc or p.choices or p.low is not None or p.kind in ("bool", "str"), (name, p.name)


@pytest.mark.parametrize("registry", [MODELS, TASKS], ids=["models", "tasks"])
def test_every_user_parameter_has_a_meaning(registry):
    missing = [
        (name, p.name) for name, entry in registry.entries().items() for p in entry.user_params() if not p.doc
    ]
    assert missing == []


def test_a_bullet_ends_at_its_paragraph():
    doc = {p.name: p.doc for p in TASKS.get("flipflop").user_params()}
    assert doc["input_noise"] == "standard deviation of Gaussian noise added to every input entry."
    gru = {p.name: p.doc for p in MODELS.get("gru").user_params()}
    lstm = {p.name: p.doc for p in MODELS.get("lstm").user_params()}
    assert gru == lstm and gru["gain"] == "g, the scale of the recurrent draw, ≥ 0 (an array leaf)."


def test_docstring_bullets_end_at_blank_lines_bullets_and_sections_and_subclasses_win():
    from neurodyn.spec._registry import describe

    class Base:
        """Summary.

        - `a`: first,
          continued.
        - `b`: second.
        **Note:** not part of b.
        - `c`: third.

        Not part of c.
        """

        def __init__(self, a=1, b=2, c=3):
            pass

    class Child(Base):
        """Child summary.

        - `b`: the child's b.
        """

    docs = {p.name: p.doc for p in describe(Base).params.values()}
    assert docs == {"a": "first, continued.", "b": "second.", "c": "third."}
    docs = {p.name: p.doc for p in describe(Child).params.values()}
    assert docs == {"a": "first, continued.", "b": "the child's b.", "c": "third."}


def test_every_listed_choice_is_accepted_by_the_constructor():
    # the registry lists what a constructor takes; a choice it lists but the class
    # refuses (or the reverse) is a parameter described in two places that disagree
    import jax.random as jr

    from neurodyn.spec import MODELS, TASKS

    for registry, extra in ((MODELS, {"input_size": 2, "output_size": 2, "key": jr.key(0)}), (TASKS, {})):
        for name, entry in registry.entries().items():
            required = {p.name: 4 for p in entry.user_params() if p.required}
            for p in entry.user_params():
                for choice in p.choices or ():
                    try:
                        entry.cls(**required, **extra, **{p.name: choice})
                    except (ValueError, TypeError) as err:
                        raise AssertionError(f"{name}.{p.name}={choice!r} is listed but refused: {err}") from None


def test_fixed_per_unit_values_and_masks_reach_the_model():
    """[sweep.fixed] carries a per-unit τ and a connectivity mask (lists, never axes) into
    the model; each entry is range-checked and a bad one is named."""
    import jax.random as jr
    import numpy as np

    import neurodyn

    mask = [[1, 0, 1, 0], [0, 1, 0, 1], [1, 1, 0, 0], [0, 0, 1, 1]]
    spec = neurodyn.SweepSpec.from_dict({
        "task": {"name": "flipflop", "n_bits": 1, "n_time": 10},
        "model": {"name": "ctrnn", "hidden_size": 4},
        "train": {"n_steps": 4, "eval_every": 4, "batch_size": 4},
        "sweep": {"seeds": 2, "fixed": {"model.tau": [1.0, 2.0, 3.0, 4.0], "model.connectivity": mask}},
    })
    members = spec.validate()
    assert len(members) == 2  # the lists are values, not axes
    params = {k: v for k, v in members[0].model.items() if k != "name"}
    model = MODELS.build("ctrnn", params, input_size=1, output_size=1, key=jr.key(0))
    np.testing.assert_array_equal(np.asarray(model.tau), [1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(np.asarray(model.mask), np.asarray(mask, dtype=float))
    assert "or a list of them" in MODELS.get("ctrnn").params["tau"].allowed()
    with pytest.raises(ValueError, match=r"ctrnn.tau: entry \[2\] = -1.0 is out of range; every entry must be in \(0, inf\)"):
        MODELS.validate("ctrnn", {"hidden_size": 4, "tau": [1.0, 2.0, -1.0, 4.0]})
    with pytest.raises(ValueError, match=r"ctrnn.connectivity: entry \[0, 1\] = 2.0 is out of range; every entry must be in \[0, 1\]"):
        MODELS.validate("ctrnn", {"hidden_size": 2, "connectivity": [[1, 2], [0, 1]]})
    with pytest.raises(TypeError, match="a list must hold numbers only"):
        MODELS.validate("ctrnn", {"hidden_size": 2, "connectivity": [[1, 0], [1]]})
    with pytest.raises(ValueError, match=r"ctrnn.connectivity=0.0 is out of range"):  # a density stays in (0, 1]
        MODELS.validate("ctrnn", {"hidden_size": 2, "connectivity": 0.0})



def test_hmm_chain_length_is_bounded_where_its_probabilities_are():
    # q = 0.05^(1/(M-1)) > 1/2 from M = 6 on: the middle states' 1 - 2q would be negative
    assert TASKS.build("hmm", TASKS.validate("hmm", {"hmm": "linear_chain", "n_states": 5})).hmm.n_states == 5
    with pytest.raises(ValueError, match=r"hmm\.n_states=6 is out of range; allowed: int in \[2, 5\]"):
        TASKS.validate("hmm", {"hmm": "linear_chain", "n_states": 6})
    from neurodyn.tasks import linear_chain_hmm

    with pytest.raises(ValueError, match=r"n_states=6 is too long a chain: .* 1 - 2q = -0\.099"):
        linear_chain_hmm(6)
