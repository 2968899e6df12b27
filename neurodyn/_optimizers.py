"""The optimisers neurodyn offers by name, shared by the spec layer and training."""

import optax

#: name -> (optax factory, numeric options with their ranges, boolean options)
OPTIMIZERS = {
    "adam": (optax.adam, {"b1": (0.0, 1.0), "b2": (0.0, 1.0), "eps": (0.0, None)}, ("nesterov",)),
    "adamw": (
        optax.adamw,
        {"b1": (0.0, 1.0), "b2": (0.0, 1.0), "eps": (0.0, None), "weight_decay": (0.0, None)},
        ("nesterov",),
    ),
    "sgd": (optax.sgd, {"momentum": (0.0, 1.0)}, ("nesterov",)),
    "rmsprop": (
        optax.rmsprop,
        {"decay": (0.0, 1.0), "eps": (0.0, None), "momentum": (0.0, 1.0)},
        ("centered", "nesterov"),
    ),
    "adagrad": (optax.adagrad, {"initial_accumulator_value": (0.0, None), "eps": (0.0, None)}, ()),
    "lion": (optax.lion, {"b1": (0.0, 1.0), "b2": (0.0, 1.0), "weight_decay": (0.0, None)}, ()),
}
