"""One member recipe, built once: the counts of model, task and TrainConfig builds per
stage of a sweep, and the recipe's serialisation as the members table's `params`."""

import collections
import json

import numpy as np
import pytest
from sweep_helpers import SMALL

import neurodyn
import neurodyn.train._config as train_config_module
from neurodyn.spec import ModelRecipe, Recipe, SweepSpec, TaskRecipe, _catalog, _recipe
from neurodyn.sweep import _plan


@pytest.fixture
def counts(monkeypatch):
    """Registry builds (by kind) and TrainConfig constructions, from empty caches."""
    counter = collections.Counter()
    registry = type(_catalog.MODELS)
    build = registry.build

    def counting_build(self, name, params, **implicit):
        counter[self.kind] += 1
        return build(self, name, params, **implicit)

    init = train_config_module.TrainConfig.__init__

    def counting_init(self, *args, **kwargs):
        counter["TrainConfig"] += 1
        return init(self, *args, **kwargs)

    monkeypatch.setattr(registry, "build", counting_build)
    monkeypatch.setattr(train_config_module.TrainConfig, "__init__", counting_init)
    _plan.clear_caches()
    yield counter
    _plan.clear_caches()


# 18 s: in the slow suite, so that make test stays under CI's 10 minutes
@pytest.mark.slow
def test_each_member_is_built_once_and_shared_sections_once(tmp_path, counts):
    # SMALL: 8 members = 2 hidden sizes x 2 learning rates x 2 seeds, one task
    out = tmp_path / "run.zarr"
    neurodyn.run_sweep(SMALL, out, progress=False)
    # one model per member, plus the shapes of each of the 2 structures; the one task
    # once; one TrainConfig per distinct [train] section (2 learning rates)
    assert dict(counts) == {"model": 8 + 2, "task": 1, "TrainConfig": 2}

    counts.clear()
    _plan.clear_caches()
    neurodyn.run_sweep(SMALL, out, resume=True, progress=False)
    # a finished sweep resumed: the 2 structures' shapes and each group's first member
    # (its store template); statuses read with the 2 train sections' configs
    assert dict(counts) == {"model": 2 + 2, "task": 1, "TrainConfig": 2}

    counts.clear()
    _plan.clear_caches()
    sweep = neurodyn.open_sweep(out)
    models = [sweep.model(m) for m in range(8)]
    # the stored models come from one template per structure; the task once
    assert dict(counts) == {"model": 2, "task": 1}
    assert [m.hidden_size for m in models] == [6, 6, 6, 6, 8, 8, 8, 8]


def test_the_members_table_params_are_the_recipes_serialisation(tmp_path):
    members = SweepSpec.from_dict(SMALL).validate()
    for m in members:
        recipe = m.recipe
        text = recipe.to_json()
        # the form every store so far was written with
        assert text == json.dumps({"seed": m.seed, "task": m.task, "model": m.model, "train": m.train}, sort_keys=True)
        back = Recipe.from_params(text)
        assert back == recipe and hash(back) == hash(recipe)
        assert back.to_json() == text
    recipes = {m.recipe for m in members}
    assert len(recipes) == 8
    assert len({r.task for r in recipes}) == 1
    assert len({r.model for r in recipes}) == 2
    assert len({r.train for r in recipes}) == 2


def test_recipes_are_equal_by_content_and_build_their_member():
    a = TaskRecipe.from_section({"name": "flipflop", "n_bits": 2, "n_time": 10})
    b = TaskRecipe.from_section({"n_time": 10, "name": "flipflop", "n_bits": 2})
    assert a == b and hash(a) == hash(b)
    assert a != TaskRecipe.from_section({"name": "flipflop", "n_bits": 3, "n_time": 10})
    assert a.build() is b.build()  # built once, shared
    model = ModelRecipe.from_section({"name": "vanilla", "hidden_size": 5})
    recipe = Recipe.from_sections(3, a.section, model.section, {"learning_rate": 1e-3})
    built = _plan.build(recipe)
    # the model is the seed's model-key initialisation, sized by the task
    again = model.build(a.build(), key=_plan.member_keys(3)[0])
    assert built.model.hidden_size == 5 and built.model.input_size == a.build().input_size
    for x, y in zip(
        [np.asarray(v) for v in _leaves(built.model)], [np.asarray(v) for v in _leaves(again)], strict=True
    ):
        np.testing.assert_array_equal(x, y)
    assert built.config.learning_rate == 1e-3


def test_bad_sections_are_named():
    with pytest.raises(ValueError, match=r"\[task\] section needs a `name`"):
        TaskRecipe.from_section({"n_bits": 2})
    with pytest.raises(TypeError, match=r"\[model\] table"):
        ModelRecipe.from_section(["vanilla"])
    with pytest.raises(ValueError, match=r"sections \['model'\]"):
        Recipe.from_params('{"task": {"name": "flipflop"}}')


def _leaves(tree):
    import equinox as eqx
    import jax

    return jax.tree_util.tree_leaves(eqx.filter(tree, eqx.is_array))


def test_caches_follow_the_float_width():
    import jax

    recipe = ModelRecipe.from_section({"name": "vanilla", "hidden_size": 4})
    task = TaskRecipe.from_section({"name": "flipflop", "n_bits": 1, "n_time": 5})
    assert recipe.template(task).W_rec.dtype == np.float32
    with jax.enable_x64(True):
        assert recipe.template(task).W_rec.dtype == np.float64
    assert recipe.template(task).W_rec.dtype == np.float32
    assert _recipe.CACHE_SIZE >= 1
