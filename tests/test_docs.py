"""Every public docstring, parsed as numpydoc reads it, agrees with its signature."""

import ast
import inspect

import pytest
from numpydoc.docscrape import ClassDoc, FunctionDoc

import skae
import skae.inspection
import skae.plotting
from skae._docs import fill_doc

ESTIMATORS = [getattr(skae, name) for name in skae.__all__ if inspect.isclass(getattr(skae, name))]
FUNCTIONS = [skae.load] + [getattr(m, name) for m in (skae.plotting, skae.inspection) for name in m.__all__]
METHODS = [
    getattr(cls, name)
    for cls in ESTIMATORS
    for name in (
        "fit", "partial_fit", "fit_transform", "transform", "inverse_transform", "predict", "score", "corrupt", "save"
    )
    if getattr(cls, name, None) is not None and getattr(cls, name).__doc__
]
METHODS = list({method.__qualname__: method for method in METHODS}.values())  # each inherited one once

RETURN_NOTHING = {"save"}  # numpydoc: a function that returns None has no Returns section


def documented(doc):
    return [param.name.lstrip("*") for param in doc["Parameters"]]


def signature_names(obj, *, skip_self=False):
    names = list(inspect.signature(obj).parameters)
    return names[1:] if skip_self else names


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_estimator_docstring_matches_signature(cls):
    assert "%(" not in cls.__doc__, "a shared section was not filled"
    doc = ClassDoc(cls, config={"show_class_members": False})
    names = documented(doc)
    assert len(set(names)) == len(names), "each parameter documented once"
    assert sorted(names) == sorted(signature_names(cls))
    for param in doc["Parameters"]:
        if "default=" not in param.type:
            continue
        default = inspect.signature(cls).parameters[param.name.lstrip("*")].default
        written = ast.literal_eval(param.type.partition("default=")[2])
        assert written == default, f"{param.name}: the docstring says {written!r}, the signature {default!r}"
    attributes = [attr.name for attr in doc["Attributes"]]
    assert attributes and all(name.endswith("_") for name in attributes)
    assert len(set(attributes)) == len(attributes)
    # A family's note belongs to the entry it is about, not to the one above it.
    feature_names = next(attr for attr in doc["Attributes"] if attr.name == "feature_names_in_")
    assert " ".join(feature_names.desc).endswith("when X has string column names.")
    assert doc["Examples"] and doc["See Also"]


@pytest.mark.parametrize("function", FUNCTIONS + METHODS, ids=lambda f: f.__qualname__)
def test_function_docstring_matches_signature(function):
    doc = FunctionDoc(function)
    skip_self = "." in function.__qualname__
    assert documented(doc) == signature_names(function, skip_self=skip_self)
    assert doc["Returns"] or doc["Yields"] or function.__name__ in RETURN_NOTHING


def test_fill_doc_adds_a_note_to_the_named_entry_and_states_the_family_default():
    class Family:
        """Summary.

        Parameters
        ----------
        %(training_parameters)s

        Attributes
        ----------
        %(fitted_attributes)s
        """

        def __init__(self, *, epochs=7, batch_size=32):
            pass

    Family.__doc__ = inspect.cleandoc(Family.__doc__).replace("\n", "\n    ").replace("    %(", "%(")
    fill_doc(Family, history_="A family's own sentence.")
    doc = ClassDoc(Family, config={"show_class_members": False})
    epochs = next(param for param in doc["Parameters"] if param.name == "epochs")
    assert epochs.type.endswith("default=7")
    history = next(attr for attr in doc["Attributes"] if attr.name == "history_")
    assert history.desc[-1] == "A family's own sentence."
    with pytest.raises(ValueError, match="No entry 'nothing_'"):
        fill_doc(Family, nothing_="lost")
