"""What skae takes from scikeras, in one place.

scikeras 0.13.0 is pinned and no longer maintained. skae's estimators do not
subclass its wrapper: they own the scikit-learn contract, the training loop
and pickling themselves, and seed their own fits (``skae._training.seeded``).
From scikeras they take the routed parameters: ``optimizer__beta_1=0.95``
reaches the optimizer's constructor, ``loss__<name>`` the loss's,
``compile__<name>`` ``Model.compile``, ``fit__<name>`` ``Model.fit`` and
``callbacks__<name>`` a callback class built at each fit (``route_params``,
``unflatten_params``).

Importing scikeras also replaces ``keras.Model.__reduce__`` process-wide;
skae's pickling does not rely on it (see ``skae._persistence``).
"""

from collections.abc import Mapping

import keras
from scikeras._utils import (
    get_loss_class_function_or_string,
    get_optimizer_class,
    route_params,
    try_to_convert_strings_to_classes,
    unflatten_params,
)

# Parameters named "<prefix>__<name>" are routed to the object or call the
# prefix names.
ROUTING_PREFIXES = frozenset({"optimizer", "loss", "compile", "fit", "callbacks"})


def is_routed(name):
    """Whether a parameter name is routed (``optimizer__beta_1``)."""
    return "__" in name and name.partition("__")[0] in ROUTING_PREFIXES


def routed(params, destination):
    """The parameters routed to ``destination``, without their prefix."""
    return route_params(params, destination=destination, pass_filter=set())


def build_optimizer(optimizer, learning_rate, params):
    """A new optimizer: built from a name or class, or copied from an instance
    (an instance holds the slots of the model it trained)."""
    if isinstance(optimizer, keras.optimizers.Optimizer):
        return type(optimizer).from_config(optimizer.get_config())
    return unflatten_params(
        items=try_to_convert_strings_to_classes(optimizer, get_optimizer_class),
        params={
            "learning_rate": learning_rate,
            **route_params(params, destination="optimizer", pass_filter=set(), strict=True),
        },
    )


def build_loss(loss, params):
    """The loss: a name or function as it is, a class built with ``loss__`` parameters."""
    return unflatten_params(
        items=try_to_convert_strings_to_classes(loss, get_loss_class_function_or_string),
        params=routed(params, "loss"),
    )


def build_callbacks(params):
    """The user's callbacks for ``Model.fit``: classes built with their routed
    arguments, instances as they are."""
    callbacks = []
    for destination in ("callbacks", "fit__callbacks"):
        if params.get(destination) is None:
            continue
        built = unflatten_params(items=params[destination], params=routed(params, destination))
        if isinstance(built, Mapping):
            built = list(built.values())
        elif isinstance(built, keras.callbacks.Callback):
            built = [built]
        if not isinstance(built, list) or not all(isinstance(cb, keras.callbacks.Callback) for cb in built):
            raise TypeError(
                "callbacks must be a Keras callback, or a list or dict of callbacks (instances or classes). "
                f"Received: {params[destination]!r}"
            )
        callbacks += built
    return callbacks
