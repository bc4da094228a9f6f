"""Intersphinx inventories written at build time, so that the docs build offline.

Sphinx's intersphinx downloads each project's ``objects.inv``; CI reaches no
site but the package registries, and Keras's site has no inventory at all.
So the inventories are written here: scikit-learn's from the installed
package (its documentation names every public object by one URL pattern),
NumPy's, Keras's and matplotlib's for the objects skae's pages name.
"""

import importlib
import inspect
import pkgutil
import zlib
from pathlib import Path

import sklearn

NUMPY = {
    "numpy.ndarray": ("py:class", "reference/generated/numpy.ndarray.html#$"),
    "numpy.float32": ("py:class", "reference/arrays.scalars.html#$"),
    "numpy.random.RandomState": ("py:class", "reference/random/legacy.html#$"),
    "numpy.random.Generator": ("py:class", "reference/random/generator.html#$"),
    "numpy.linalg.norm": ("py:function", "reference/generated/numpy.linalg.norm.html#$"),
    "numpy.nan": ("py:data", "reference/constants.html#$"),
}
KERAS = {
    "keras.Model": ("py:class", "api/models/model/"),
    "keras.Model.fit": ("py:method", "api/models/model_training_apis/#fit-method"),
    "keras.Model.compile": ("py:method", "api/models/model_training_apis/#compile-method"),
    "keras.Model.compute_loss": ("py:method", "api/models/model_training_apis/"),
    "keras.layers.Layer": ("py:class", "api/layers/base_layer/"),
    "keras.layers.Dense": ("py:class", "api/layers/core_layers/dense/"),
    "keras.layers.Conv2D": ("py:class", "api/layers/convolution_layers/convolution2d/"),
    "keras.layers.Conv2DTranspose": ("py:class", "api/layers/convolution_layers/convolution2d_transpose/"),
    "keras.layers.Dropout": ("py:class", "api/layers/regularization_layers/dropout/"),
    "keras.callbacks.Callback": ("py:class", "api/callbacks/base_callback/"),
    "keras.callbacks.EarlyStopping": ("py:class", "api/callbacks/early_stopping/"),
    "keras.callbacks.TensorBoard": ("py:class", "api/callbacks/tensorboard/"),
    "keras.optimizers.Adam": ("py:class", "api/optimizers/adam/"),
    "keras.losses": ("py:module", "api/losses/"),
}
MATPLOTLIB = {
    "matplotlib.axes.Axes": ("py:class", "stable/api/_as_gen/matplotlib.axes.Axes.html#$"),
    "matplotlib.axes.Axes.scatter": ("py:method", "stable/api/_as_gen/matplotlib.axes.Axes.scatter.html#$"),
    "matplotlib.axes.Axes.imshow": ("py:method", "stable/api/_as_gen/matplotlib.axes.Axes.imshow.html#$"),
}


# Labels and glossary terms that scikit-learn's own docstrings, inherited by
# skae's estimators (set_output, get_metadata_routing, score), refer to.
SKLEARN_LABELS = {
    "metadata_routing": ("std:label", "metadata_routing.html#metadata-routing"),
    "accuracy_score": ("std:label", "modules/model_evaluation.html#accuracy-score"),
    "sphx_glr_auto_examples_miscellaneous_plot_set_output.py": (
        "std:label", "auto_examples/miscellaneous/plot_set_output.html"),
    "meta-estimator": ("std:term", "glossary.html#term-meta-estimator"),
}
# Labels whose page we cannot vouch for: drawn as plain text (see conf.py).
SKLEARN_UNLINKED = {"df_output_transform"}


def _sklearn_objects():
    """Every public class and function of scikit-learn's public modules, and the labels above."""
    objects = dict(SKLEARN_LABELS)
    for module_info in pkgutil.iter_modules(sklearn.__path__):
        if module_info.name.startswith("_") or module_info.name in {"tests", "conftest"}:
            continue
        module = importlib.import_module(f"sklearn.{module_info.name}")
        for name in getattr(module, "__all__", []):
            try:
                obj = getattr(module, name)
            except ImportError:  # experimental names, importable only after an opt-in
                continue
            if inspect.isclass(obj) or inspect.isfunction(obj):
                full = f"{module.__name__}.{name}"
                role = "py:class" if inspect.isclass(obj) else "py:function"
                objects[full] = (role, f"modules/generated/{full}.html#$")
    return objects


def _write(path, project, version, objects):
    lines = "".join(f"{name} {role} 1 {uri} -\n" for name, (role, uri) in sorted(objects.items()))
    header = (f"# Sphinx inventory version 2\n# Project: {project}\n# Version: {version}\n"
              "# The remainder of this file is compressed using zlib.\n")
    path.write_bytes(header.encode() + zlib.compress(lines.encode()))


def write_inventories(directory):
    """Write the inventories into ``directory``; return ``intersphinx_mapping``."""
    from skae._quiet import import_tensorflow

    import_tensorflow()  # first, as skae would: its start-up lines filtered, devices listed
    import keras
    import matplotlib
    import numpy

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    sites = {
        "sklearn": ("https://scikit-learn.org/stable/", "scikit-learn", sklearn.__version__, _sklearn_objects()),
        "numpy": ("https://numpy.org/doc/stable/", "NumPy", numpy.__version__, NUMPY),
        "keras": ("https://keras.io/", "Keras", keras.__version__, KERAS),
        "matplotlib": ("https://matplotlib.org/", "Matplotlib", matplotlib.__version__, MATPLOTLIB),
    }
    mapping = {}
    for key, (url, project, version, objects) in sites.items():
        path = directory / f"{key}.inv"
        _write(path, project, version, objects)
        mapping[key] = (url, str(path))
    return mapping
