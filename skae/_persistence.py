"""A Keras model as bytes inside a pickled estimator.

A fitted estimator pickles its ``model_`` as the bytes of a ``.keras`` file
(Keras's own format: the architecture as JSON, the weights, the optimizer's
state), written and read with Keras's public saving API. It does not rely on
any process-wide patch of ``keras.Model.__reduce__``, so a pickle made in one
process loads in another that has only imported skae.
"""

import os
import tempfile
import warnings
from contextlib import contextmanager

import keras


def _skae_classes():
    # Importing the modules registers skae's layers and models with Keras.
    from . import _contractive, _layers

    return [_layers.TiedDense, _layers.SparsityPenalty, _layers.Corruption, _contractive.ContractiveModel]


@contextmanager
def _keras_deprecations_ignored():
    # Keras's saving calls np.array on its variables, which NumPy 2 deprecates;
    # the warning is Keras's to fix, and must not fail a user's -W error run.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"keras\.")
        yield


def model_to_bytes(model):
    """The ``.keras`` file of ``model``, as bytes."""
    with tempfile.TemporaryDirectory() as folder, _keras_deprecations_ignored():
        path = os.path.join(folder, "model.keras")
        keras.saving.save_model(model, path)
        with open(path, "rb") as file:
            return file.read()


def model_from_bytes(data):
    """The model that ``model_to_bytes`` wrote, compiled as it was."""
    # scikeras's pickling registers a class again under a bare name
    # (">ContractiveModel"); files written after it name the class so.
    custom = {}
    for cls in _skae_classes():
        custom[f"skae>{cls.__name__}"] = custom[f">{cls.__name__}"] = cls
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.keras")
        with open(path, "wb") as file:
            file.write(data)
        with _keras_deprecations_ignored():
            # A classifier freezes layers of the autoencoder it holds: that
            # autoencoder's model then loads with fewer trainable variables
            # than its optimizer was built for, and Keras starts the optimizer
            # afresh. Its weights load in full.
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer", category=UserWarning)
            return keras.saving.load_model(path, custom_objects=custom, compile=True, safe_mode=True)


class PackedModel:
    """Stands for a Keras model in a pickled estimator's state."""

    def __init__(self, model):
        self.data = model_to_bytes(model)

    def unpack(self):
        return model_from_bytes(self.data)
