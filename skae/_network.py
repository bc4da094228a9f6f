"""The network type: an estimator's layers by part, by name, and how to chain them."""


class Network:
    """The layers of an estimator's ``model_`` by name, in the order each part
    (``encoder``, ``decoder``, ...) chains them, with their call arguments.

    Names survive pickling; ``layers`` binds them to the model's layers, so
    that after loading they are the loaded model's own.
    """

    def __init__(self, **parts):
        self.parts = {part: [(layer.name, kwargs) for layer, kwargs in layers] for part, layers in parts.items()}

    def layers(self, model, *parts):
        """``[(layer, call_kwargs), ...]`` of ``parts``, chained in that order."""
        return [(model.get_layer(name), kwargs) for part in parts for name, kwargs in self.parts[part]]


def chain(tensor, layers):
    """Apply ``[(layer, call_kwargs), ...]`` in order."""
    for layer, kwargs in layers:
        tensor = layer(tensor, **kwargs)
    return tensor
