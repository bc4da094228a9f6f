"""Training under a ``tf.distribute`` strategy, and a strategy that pickles.

An estimator's ``distribute_strategy`` is a live strategy (what the user
gives) or, once pickled, a ``StrategyRecipe``: a strategy holds weak
references and cannot be pickled, so a pickled estimator keeps what builds
it again (its class and devices), and the next ``fit`` builds it, once per
process. Models are built and trained under its ``scope()``.
"""

from contextlib import contextmanager

import tensorflow as tf

# The strategies Keras's fit runs data-parallel, by name.
SUPPORTED = {
    "MirroredStrategy": tf.distribute.MirroredStrategy,
    "MultiWorkerMirroredStrategy": tf.distribute.MultiWorkerMirroredStrategy,
    "OneDeviceStrategy": tf.distribute.OneDeviceStrategy,
}


class StrategyRecipe:
    """What builds a strategy again in another process: its class and the
    devices of this worker. A multi-worker strategy reads its cluster from
    ``TF_CONFIG`` when it is built, as ``MultiWorkerMirroredStrategy()`` does.

    Parameters
    ----------
    kind : {"MirroredStrategy", "MultiWorkerMirroredStrategy", "OneDeviceStrategy"}
        The strategy's class.
    devices : tuple of str
        Its devices, as ``"/cpu:0"``; empty for a multi-worker strategy.
    """

    def __init__(self, kind, devices=()):
        self.kind, self.devices = kind, tuple(devices)

    def __repr__(self):
        return f"StrategyRecipe({self.kind!r}, devices={self.devices!r})"

    def __eq__(self, other):
        return isinstance(other, StrategyRecipe) and (self.kind, self.devices) == (other.kind, other.devices)

    def __hash__(self):
        return hash((self.kind, self.devices))

    def build(self):
        """The strategy, built on its first call in this process (see ``live``)."""
        if self not in _built:
            cls = SUPPORTED[self.kind]
            if self.kind == "MultiWorkerMirroredStrategy":
                _built[self] = cls()
            elif self.kind == "OneDeviceStrategy":
                _built[self] = cls(self.devices[0])
            else:
                _built[self] = cls(list(self.devices))
        return _built[self]


_built = {}


def kind(strategy):
    """The name in SUPPORTED of a live strategy's class, or a ValueError."""
    for name, cls in SUPPORTED.items():
        if isinstance(strategy, cls):
            return name
    raise ValueError(
        f"distribute_strategy={type(strategy).__name__} is not one skae trains with: Keras's fit runs "
        f"{', '.join(SUPPORTED)} data-parallel."
    )


def recipe(strategy):
    """The ``StrategyRecipe`` of a live strategy (or of a recipe: itself)."""
    if strategy is None or isinstance(strategy, StrategyRecipe):
        return strategy
    name = kind(strategy)
    if name == "MultiWorkerMirroredStrategy":
        return StrategyRecipe(name)
    return StrategyRecipe(name, [_short_name(device) for device in strategy.extended.worker_devices])


def _short_name(device):
    spec = tf.DeviceSpec.from_string(device)
    return f"/{spec.device_type.lower()}:{spec.device_index}"


def live(strategy):
    """The strategy to train under: None, or this process's one strategy of
    the given strategy's class and devices.

    That is the first such strategy skae saw in this process, or the one a
    recipe built. A clone's deep copy of a strategy, or a second strategy
    over the same devices, would share its collective operations' keys with
    the first, and training under one after the other failed in TensorFlow
    ("Shape mismatch in the collective instance").
    """
    if strategy is None:
        return None
    key = recipe(strategy)
    devices = [_short_name(device.name) for device in tf.config.list_logical_devices()]
    missing = sorted(set(key.devices) - set(devices))
    if missing:  # TensorFlow would wait for them for ever
        raise ValueError(
            f"distribute_strategy is a {key.kind} over the devices {list(key.devices)}, but this process has no "
            f"{', '.join(missing)}: its devices are {devices}. Set distribute_strategy to a strategy over this "
            "process's devices, or None."
        )
    if key not in _built and not isinstance(strategy, StrategyRecipe):
        _built[key] = strategy
    return key.build()


def built_under(model):
    """The strategy ``model`` was built under, or None; asked outside any
    strategy's scope."""
    strategy = model.distribute_strategy  # the current one (the default) when it was built under none
    return None if strategy is tf.distribute.get_strategy() else strategy


@contextmanager
def keras_reduce_mended(strategy):
    """For a block, ``strategy.reduce`` as Keras's ``fit`` needs it under a
    MultiWorkerMirroredStrategy; other strategies are left as they are.

    Keras 3.15's ``fit`` calls it with a tuple of per-replica batches (its
    symbolic build), which only MirroredStrategy's reduce maps over, and
    with ``axis=0`` for the scalar loss, which has no axis 0: both raised,
    and no model trained on two workers. Here each value is reduced in turn,
    a scalar over the replicas alone.
    """
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        yield
        return
    unbound = type(strategy).reduce

    def reduce(reduce_op, value, axis=None):
        return tf.nest.map_structure(
            lambda v: unbound(strategy, reduce_op, v, axis=axis if _rank(v) else None), value
        )

    strategy.reduce = reduce
    try:
        yield
    finally:
        del strategy.reduce


def _rank(value):
    if isinstance(value, tf.distribute.DistributedValues):
        value = value.values[0]
    return value.shape.rank
