"""Saving and loading: Keras models as bytes, and skae's own file format.

A fitted estimator pickles its ``model_`` as the bytes of a ``.keras`` file
(Keras's own format: the architecture as JSON, the weights, the optimizer's
state), written and read with Keras's public saving API. It does not rely on
any process-wide patch of ``keras.Model.__reduce__``, so a pickle made in one
process loads in another that has only imported skae.

``save`` and ``load`` write and read one zip file that runs no code on
loading: ``skae.json`` holds the estimator's state (parameters and fitted
attributes) as tagged JSON, and ``models/<i>.keras`` each Keras model. Every
model is checked before Keras reads it: a Lambda layer, or a class from
outside Keras and skae, is refused. The same check guards a model inside a
pickle or a skops file.
"""

import importlib
import inspect
import io
import json
import os
import tempfile
import threading
import warnings
import zipfile
from collections import defaultdict
from contextlib import contextmanager

import keras
import numpy as np

import skae

from ._distribute import SUPPORTED, StrategyRecipe
from ._models import check_config, custom_objects, is_keras_module
from ._network import Network

FORMAT = "skae"
FORMAT_VERSION = 1

_warnings_lock = threading.RLock()


@contextmanager
def _keras_deprecations_ignored():
    # Keras's saving calls np.array on its variables, which NumPy 2 deprecates;
    # the warning is Keras's to fix, and must not fail a user's -W error run.
    # catch_warnings swaps the process's filters: under the lock, saves and
    # loads in threads each restore the filters they found (not per fit:
    # training never catches warnings).
    with _warnings_lock, warnings.catch_warnings():
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
    """The model that ``model_to_bytes`` wrote, compiled as it was.

    Refused with a ValueError, before Keras reads it, when its configuration
    names a Lambda layer or a class from outside Keras and skae.
    """
    check_config(_read_config(data))
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
            return keras.saving.load_model(path, custom_objects=custom_objects(), compile=True, safe_mode=True)


def _read_config(data):
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, KeyError, ValueError) as error:
        raise ValueError(f"The model is not a readable .keras file: {error}") from None


class PackedModel:
    """Stands for a Keras model in a pickled estimator's state."""

    def __init__(self, model):
        self.data = model_to_bytes(model)

    @classmethod
    def from_bytes(cls, data):
        packed = cls.__new__(cls)
        packed.data = data
        return packed

    def unpack(self):
        return model_from_bytes(self.data)


# -- skae's own file format ------------------------------------------------------


class SkaeEstimator:
    """What every public skae estimator shares: ``save``, and pickles that
    name ``skae._rebuild``, so that a process loading one (a joblib worker)
    imports TensorFlow through skae, its start-up lines filtered."""

    def save(self, path):
        """Save the estimator to one file that :func:`skae.load` reads.

        The file is a zip archive: the estimator's parameters and fitted
        attributes as JSON, and each Keras model it holds as a ``.keras``
        file. Nothing in it runs on loading, unlike a pickle. Parameters
        that are Python objects other than Keras's (a callback, a loss
        function of your own) are refused: pickle or skops store those.

        Parameters
        ----------
        path : str or path-like
            Where to write. The name is yours; ``.skae`` is the convention.

        Raises
        ------
        TypeError
            If a parameter or fitted attribute is an object the format
            does not store; the message names it.

        Examples
        --------
        >>> import os, tempfile, zipfile
        >>> from sklearn.datasets import load_digits
        >>> from skae import DenseAutoencoder
        >>> ae = DenseAutoencoder(2, epochs=2, random_state=0).fit(load_digits().data / 16)
        >>> path = os.path.join(tempfile.mkdtemp(), "ae.skae")
        >>> ae.save(path)
        >>> zipfile.ZipFile(path).namelist()  # the state as JSON, the Keras model
        ['skae.json', 'models/0.keras']
        """
        save(self, path)

    def __reduce_ex__(self, protocol):
        if not _is_skae_estimator(self):  # a subclass of the user's own
            return super().__reduce_ex__(protocol)
        return skae._rebuild, (type(self).__name__,), self.__getstate__()


def save(estimator, path):
    """Write ``estimator`` to one file at ``path``; see ``SkaeEstimator.save``."""
    models = []
    state = _Encoder(models).encode(estimator)
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "skae_version": _skae_version(),
        "keras_version": keras.__version__,
        "estimator": state,
    }
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("skae.json", json.dumps(header, indent=1))
        for i, data in enumerate(models):
            archive.writestr(f"models/{i}.keras", data)


def load(path):
    """Read an estimator that ``save`` wrote.

    Parameters
    ----------
    path : str or path-like
        The file ``estimator.save(path)`` wrote.

    Returns
    -------
    estimator : skae estimator
        The estimator as it was saved: fitted, with the same outputs, or
        unfitted with the same parameters.

    Raises
    ------
    ValueError
        If the file is not one skae wrote, or names a class or Keras layer
        that skae does not load (a Lambda layer, a class from outside Keras
        and skae): nothing in the file runs on loading.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.datasets import load_digits
    >>> import skae
    >>> X = load_digits().data / 16
    >>> ae = skae.DenseAutoencoder(2, epochs=2, random_state=0).fit(X)
    >>> path = os.path.join(tempfile.mkdtemp(), "ae.skae")
    >>> ae.save(path)
    >>> loaded = skae.load(path)
    >>> bool((loaded.transform(X) == ae.transform(X)).all())
    True
    """
    try:
        with zipfile.ZipFile(path) as archive:
            header = json.loads(archive.read("skae.json"))
            models = {name: archive.read(name) for name in archive.namelist() if name.startswith("models/")}
    except (zipfile.BadZipFile, KeyError, ValueError) as error:
        raise ValueError(f"{os.fspath(path)!r} is not a file that skae's save wrote: {error}") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError(f"{os.fspath(path)!r} is not a file that skae's save wrote.")
    if header.get("format_version", 0) > FORMAT_VERSION:
        raise ValueError(
            f"{os.fspath(path)!r} was written in skae's format version {header['format_version']} by skae "
            f"{header.get('skae_version')}; this skae {_skae_version()} reads up to version {FORMAT_VERSION}."
        )
    return _Decoder(models).decode(header["estimator"])


def _skae_version():
    return skae.__version__


class _Encoder:
    """Python values to JSON. A value JSON has no type for is a one-key dict
    tagged ``"__<type>__"``; Keras models go to ``models`` as bytes."""

    def __init__(self, models):
        self.models = models

    def encode(self, value, where="estimator"):
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if _is_skae_estimator(value):
            state = value.__getstate__()
            return {"__estimator__": {"class": type(value).__name__, "state": self.encode(state, where)}}
        if isinstance(value, PackedModel):
            self.models.append(value.data)
            return {"__keras_model__": f"models/{len(self.models) - 1}.keras"}
        if isinstance(value, Network):
            return {"__network__": self.encode(value.parts, where)}
        if isinstance(value, np.ndarray):
            return {"__ndarray__": self._array(value, where)}
        if isinstance(value, np.generic):
            return {"__numpy_scalar__": {"dtype": value.dtype.str, "value": value.item()}}
        if isinstance(value, np.random.RandomState):
            return {"__random_state__": self.encode(value.get_state(legacy=True), where)}
        if isinstance(value, tuple):
            return {"__tuple__": [self.encode(v, f"{where}[{i}]") for i, v in enumerate(value)]}
        if isinstance(value, list):
            return [self.encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, dict):
            items = [(k, self.encode(v, f"{where}.{k}")) for k, v in value.items()]
            if all(isinstance(k, str) and not k.startswith("__") for k in value) and type(value) is dict:
                return dict(items)
            tag = "__defaultdict_list__" if isinstance(value, defaultdict) else "__dict__"
            if tag == "__defaultdict_list__" and value.default_factory is not list:
                self._refuse(value, where)
            return {tag: [[self.encode(k, where), v] for k, v in items]}
        if isinstance(value, StrategyRecipe):
            return {"__strategy__": [value.kind, list(value.devices)]}
        if isinstance(value, type) and is_keras_module(value.__module__):
            return {"__keras_class__": [value.__module__, value.__qualname__]}
        if is_keras_module(type(value).__module__) and hasattr(value, "get_config") or _is_keras_function(value):
            return {"__keras_object__": keras.saving.serialize_keras_object(value)}
        self._refuse(value, where)

    def _array(self, array, where):
        if array.dtype.kind == "O" and all(isinstance(v, str) for v in array.flat):
            dtype = "object"
        elif array.dtype.kind in "biufU":
            dtype = array.dtype.str
        else:
            self._refuse(array, where)
        return {"dtype": dtype, "shape": list(array.shape), "data": array.ravel().tolist()}

    @staticmethod
    def _refuse(value, where):
        raise TypeError(
            f"{where} is a {type(value).__module__}.{type(value).__qualname__}, which skae's file format does not "
            "store: it holds only skae estimators, Keras models and objects, NumPy arrays and plain Python values. "
            "Set it to a name Keras knows (for example a loss or optimizer name), or use pickle or skops."
        )


def _is_skae_estimator(value):
    """One of skae's public estimator classes, not a subclass of the user's:
    the only estimators ``load`` builds."""
    return skae._ESTIMATORS.get(type(value).__name__) == type(value).__module__


def _is_keras_function(value):
    return inspect.isfunction(value) and is_keras_module(value.__module__)


class _Decoder:
    def __init__(self, models):
        self.models = models

    def decode(self, value):
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        if not isinstance(value, dict):
            return value
        tags = [k for k in value if k.startswith("__")]
        if not tags:
            return {k: self.decode(v) for k, v in value.items()}
        if len(value) != 1:
            raise ValueError(f"Unexpected entry in the saved state: {sorted(value)}.")
        ((tag, payload),) = value.items()
        if tag == "__estimator__":
            return self._estimator(payload)
        if tag == "__keras_model__":
            if payload not in self.models:
                raise ValueError(f"The file lacks the model {payload!r} its state names.")
            return PackedModel.from_bytes(self.models[payload])
        if tag == "__network__":
            network = Network.__new__(Network)
            network.parts = self.decode(payload)
            return network
        if tag == "__ndarray__":
            dtype = object if payload["dtype"] == "object" else np.dtype(payload["dtype"])
            return np.array(payload["data"], dtype=dtype).reshape(payload["shape"])
        if tag == "__numpy_scalar__":
            return np.dtype(payload["dtype"]).type(payload["value"])
        if tag == "__random_state__":
            random_state = np.random.RandomState()
            random_state.set_state(self.decode(payload))
            return random_state
        if tag == "__tuple__":
            return tuple(self.decode(v) for v in payload)
        if tag in ("__dict__", "__defaultdict_list__"):
            items = {self.decode(k): self.decode(v) for k, v in payload}
            return defaultdict(list, items) if tag == "__defaultdict_list__" else items
        if tag == "__strategy__":
            kind, devices = payload
            if kind not in SUPPORTED:
                raise ValueError(f"The file names the strategy {kind!r}, which is not one of {sorted(SUPPORTED)}.")
            return StrategyRecipe(kind, devices)
        if tag == "__keras_object__":
            check_config(payload)
            return keras.saving.deserialize_keras_object(payload, safe_mode=True)
        if tag == "__keras_class__":
            module, name = payload
            if not is_keras_module(module):
                raise ValueError(f"The file names the class {name!r} from {module!r}, which is not Keras's.")
            return getattr(importlib.import_module(module), name)
        raise ValueError(f"Unknown entry {tag!r} in the saved state: the file is from a newer skae, or not skae's.")

    def _estimator(self, payload):
        if payload.get("class") not in skae._ESTIMATORS:
            raise ValueError(
                f"The file names the estimator class {payload.get('class')!r}, which is not skae's; "
                f"skae loads only {sorted(skae._ESTIMATORS)}."
            )
        estimator = skae._rebuild(payload["class"])  # as unpickling builds it
        estimator.__setstate__(self.decode(payload["state"]))
        return estimator
