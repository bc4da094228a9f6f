"""skae: autoencoders as scikit-learn transformers, on Keras 3.

The estimators live in private modules and are loaded on first use, so that
``import skae`` stays cheap: TensorFlow is imported only when an estimator is.
"""

import importlib
import os

# TensorFlow's C++ start-up chatter, unless the user asked for it. Set before
# any skae module imports Keras.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

_ESTIMATORS = {
    "DenseAutoencoder": "skae._dense",
    "DenoisingAutoencoder": "skae._denoising",
    "ContractiveAutoencoder": "skae._contractive",
    "ConvAutoencoder": "skae._conv",
    "StackedAutoencoder": "skae._stacked",
    "VariationalAutoencoder": "skae._variational",
    "AutoencoderClassifier": "skae._classifier",
    "AutoencoderOutlierDetector": "skae._outlier",
}

_FUNCTIONS = {"load": "skae._persistence", "release_twins": "skae._twins"}

__all__ = sorted([*_ESTIMATORS, *_FUNCTIONS])


def __getattr__(name):
    if name in _ESTIMATORS or name in _FUNCTIONS:
        from ._quiet import import_tensorflow

        import_tensorflow()  # its start-up lines filtered as TF_CPP_MIN_LOG_LEVEL asks
        return getattr(importlib.import_module({**_ESTIMATORS, **_FUNCTIONS}[name]), name)
    raise AttributeError(f"module 'skae' has no attribute {name!r}")


def _rebuild(name):
    """An empty estimator of skae's class ``name``, for unpickling.

    Pickles name this function rather than the class's module, so that a
    process that loads one (a joblib worker) imports TensorFlow through
    ``__getattr__``, its start-up lines filtered, before the state is read.
    """
    cls = __getattr__(name)
    return cls.__new__(cls)


def __dir__():
    return sorted(list(globals()) + __all__)
