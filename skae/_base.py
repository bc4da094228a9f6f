"""The base every skae estimator stands on.

``KerasEstimator`` owns the scikit-learn contract (parameters, validation,
fitted state, pickling) and the Keras machinery (seeding, compiling,
training) around a network that a subclass builds. What every autoencoder
adds to it is in ``skae._autoencoder``; the reasons are in the
documentation's design page.
"""

import inspect
from abc import ABCMeta, abstractmethod
from collections import defaultdict
from contextlib import nullcontext
from numbers import Integral, Real

import keras
import numpy as np
import scipy.sparse as sp
import tensorflow as tf
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import train_test_split
from sklearn.utils import assert_all_finite, check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import validate_data

from . import _distribute, _persistence, _scikeras, _seeds, _speedups, _training, _twins

if keras.backend.backend() != "tensorflow":
    raise ImportError(f"skae runs on Keras's TensorFlow backend. Received: KERAS_BACKEND={keras.backend.backend()!r}")

# early_stopping="auto" holds out data from this many rows on, up to this many
# values (40 MB of float32: the split copies X), where overfitting is likely
# and a copy cheap; larger data trains on its training loss.
AUTO_VALIDATION_ROWS = 50
AUTO_VALIDATION_VALUES = 10_000_000

# Fitted state that does not end in "_": dropped with the model.
_PRIVATE_FITTED = ("_network", "_forward", "_random_state")


def inherit_signature(cls):
    """Class decorator: ``cls.__init__`` takes its parent's parameters too.

    A family's ``__init__`` declares only its own parameters (new ones, or new
    defaults) and passes ``*args, **params`` up to its parent's. The decorator
    gives it the combined signature, which scikit-learn (``get_params``,
    ``clone``, ``repr``) and ``help`` read, so every parameter is spelled out
    once, where it is introduced.
    """
    own = inspect.signature(cls.__init__).parameters
    parent = next(base for base in cls.__mro__[1:] if issubclass(base, KerasEstimator))
    inherited = inspect.signature(parent.__init__).parameters
    positional = [p for p in own.values() if p.kind == p.POSITIONAL_OR_KEYWORD]
    if any(p.kind == p.VAR_POSITIONAL for p in own.values()):
        positional += [p for p in inherited.values() if p.kind == p.POSITIONAL_OR_KEYWORD and p.name != "self"]
    keyword = [p for p in own.values() if p.kind == p.KEYWORD_ONLY]
    keyword += [p for p in inherited.values() if p.kind == p.KEYWORD_ONLY and p.name not in own]
    keyword += [p for p in inherited.values() if p.kind == p.VAR_KEYWORD]
    cls.__init__.__signature__ = inspect.Signature(positional + keyword)
    return cls


def as_float32(X, input_name="X", *, finite_checked=True):
    """Checked X as float32, the precision the networks compute in.

    Finite float64 values beyond float32's range (3.4e38) would become
    infinite in the cast, and NaN codes or scores after it. With
    ``finite_checked=False`` this one pass over the float32 values is also
    the check for NaN and infinity, with scikit-learn's messages.
    """
    with np.errstate(over="ignore"):  # the overflow is reported below, with what to do
        X32 = X.astype(np.float32, copy=False)
    if (X32 is not X or not finite_checked) and not np.isfinite(X32).all():
        missing = np.isnan(X32).reshape(len(X32), -1).any(axis=1)
        if missing.any():
            raise ValueError(
                f"Input {input_name} contains NaN: {missing.sum()} of its {len(X32)} rows have missing values, which "
                "skae's networks cannot train on or encode. Fill them first, for example with "
                "make_pipeline(SimpleImputer(), ...) (sklearn.impute.SimpleImputer; add_indicator=True keeps "
                "where they were), or drop those rows."
            )
        assert_all_finite(X, input_name=input_name)  # infinity in X itself
        raise ValueError(
            f"{input_name} has values that do not fit in float32 (largest magnitude {np.abs(X).max():.3g}, float32's "
            f"is {np.finfo(np.float32).max:.3g}): skae's networks compute in float32. Scale {input_name}, for example "
            "with StandardScaler."
        )
    return X32


def validate_dense(estimator, X, y="no_validation", *, reset, allow_nd=False):
    """X (and y, if given) checked as ``validate_data`` checks them, X as
    float32; a sparse matrix and missing values are refused with what to do."""
    if sp.issparse(X):
        raise TypeError(
            f"Sparse data was passed for X ({type(X).__name__} of shape {X.shape}), but skae's networks train on "
            "dense arrays. For one-hot columns set OneHotEncoder(sparse_output=False), or "
            "ColumnTransformer(sparse_threshold=0); reduce a large sparse matrix first, for example with "
            "TruncatedSVD, or convert a small one with X.toarray()."
        )
    checked = validate_data(estimator, X, y, reset=reset, dtype="numeric", allow_nd=allow_nd, ensure_all_finite=False)
    if isinstance(y, str):
        return as_float32(checked, finite_checked=False)
    return as_float32(checked[0], finite_checked=False), checked[1]


def resolve_output_activation(activation, X):
    """``output_activation="auto"``: sigmoid for data in [0, 1], else linear."""
    if activation != "auto":
        return activation
    return "sigmoid" if X.min() >= 0 and X.max() <= 1 else "linear"


class KerasEstimator(_persistence.SkaeEstimator, BaseEstimator, metaclass=ABCMeta):
    """What every skae estimator shares, around a Keras model it owns.

    The training parameters and routed ones, seeding, compiling, training
    with early stopping and callbacks, a fitted state that is all or nothing,
    and pickling. A subclass says how to check the data
    (``_validate_fit_data``), build and compile ``model_`` (``_build``) and
    make its fast inference (``_refresh_inference``).
    """

    _parameter_constraints = {
        "epochs": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "optimizer": [str, type, HasMethods(["apply_gradients"])],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "loss": [str, callable],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "early_stopping": ["boolean", StrOptions({"auto"})],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "callbacks": [list, dict, HasMethods(["set_model"]), None],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "distribute_strategy": [tf.distribute.Strategy, _distribute.StrategyRecipe, None],
    }

    def __init__(
        self,
        *,
        epochs="auto",
        batch_size=32,
        optimizer="adam",
        learning_rate=0.001,
        loss="auto",
        tol=1e-4,
        early_stopping="auto",
        validation_fraction=0.1,
        n_iter_no_change=10,
        callbacks=None,
        verbose=0,
        random_state=None,
        warm_start=False,
        distribute_strategy=None,
        **routed_params,
    ):
        self.epochs = epochs
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.loss = loss
        self.tol = tol
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.callbacks = callbacks
        self.verbose = verbose
        self.random_state = random_state
        self.warm_start = warm_start
        self.distribute_strategy = distribute_strategy
        _check_routed(type(self), routed_params)
        vars(self).update(routed_params)

    # -- the hooks a subclass fills ---------------------------------------------

    @abstractmethod
    def _validate_fit_data(self, X, y, *, reset):
        """Validated ``(X, y)`` for training, X as float32."""

    @abstractmethod
    def _build(self, X, *, train=True):
        """Build and compile ``model_`` for X; ``train=False`` for a part
        that is to keep its initial weights."""

    @abstractmethod
    def _refresh_inference(self):
        """Copy the trained weights into the fast forward passes."""

    # -- the scikit-learn contract -------------------------------------------

    def _routed_params(self):
        """The routed parameters that were set (``optimizer__beta_1``...)."""
        return {k: v for k, v in vars(self).items() if _scikeras.is_routed(k)}

    def get_params(self, deep=True):
        return {**super().get_params(deep=deep), **self._routed_params()}

    def set_params(self, **params):
        routed = {k: params.pop(k) for k in list(params) if _scikeras.is_routed(k)}
        vars(self).update(routed)
        return super().set_params(**params)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "model_")

    # Whether X may have more than two dimensions (images).
    _accepts_images = False

    def _validate_X(self, X, *, reset):
        """Check X as scikit-learn does, before Keras sees it; float32 out."""
        if not reset and self._is_plain_float_matrix(X):
            # validate_data costs ~60 us, more than a one-row forward pass. A
            # float ndarray of the fitted width, fitted without feature names,
            # passes all its checks but one: its values must be finite, which
            # as_float32 checks in the same pass as float32's range.
            return as_float32(X, finite_checked=False)
        return validate_dense(self, X, reset=reset, allow_nd=self._accepts_images)

    def _is_plain_float_matrix(self, X):
        return (
            type(X) is np.ndarray
            and X.ndim == 2
            and X.dtype in (np.float32, np.float64)
            and len(X) > 0
            and X.shape[1] == self.n_features_in_
            and not hasattr(self, "feature_names_in_")
        )

    # -- training ----------------------------------------------------------------

    def _fit(self, X, y, *, partial, train=True):
        """Validate the data, build the network unless it is kept, train it.

        ``train=False`` builds the network and leaves its initial weights.
        Returns the validated X. On any error (bad data, divergence, a
        callback that raises, KeyboardInterrupt) the estimator is left as it
        was before the call: unfitted, or with the model it had, trained as
        far as it was.
        """
        keep = (partial or self.warm_start) and self.__sklearn_is_fitted__()
        if not keep:  # the names are read when the network is built, not on each partial_fit
            self._check_keras_names()
        strategy = self._strategy()
        # a kept model built under another strategy (or none: a loaded one) is moved to this one
        move = keep and _distribute.built_under(self.model_) is not strategy
        before = self._fitted_state(trained=keep)
        try:
            if not keep:
                self._forget()
            X, y = self._validate_fit_data(X, y, reset=not keep)
            with strategy.scope() if strategy is not None else nullcontext():
                if not keep:
                    self._random_state = self._draw_seed()
                    self._build(X, train=train)
                elif move:
                    self.model_ = _twins.rebuilt(self.model_)
                    self._relink()
                if partial:
                    self._train(X, y, epochs=1, initial_epoch=self._epochs_trained, warm=True)
                else:
                    self._train(X, y, epochs=self._n_epochs(X, y) if train else 0, initial_epoch=0, warm=keep)
            self._refresh_inference()
        except BaseException:
            self._restore(before)
            raise
        if train:
            self._check_trained(X)
        return X

    def _strategy(self):
        """The strategy to train under (None for none), refused with what it cannot go with."""
        if self.distribute_strategy is None:
            return None
        kind = _distribute.recipe(self.distribute_strategy).kind  # refuses a strategy skae does not train with
        steps = self.get_params().get("compile__steps_per_execution", 1)
        if steps != 1:
            raise ValueError(
                f"compile__steps_per_execution={steps} cannot go with a distribute_strategy: Keras's loop of several "
                "steps per call fails under a tf.distribute strategy (keras-team/keras#19246). Leave it out."
            )
        if kind == "MultiWorkerMirroredStrategy" and self.random_state is None:
            raise ValueError(
                "A MultiWorkerMirroredStrategy needs random_state set, the same on every worker: each worker "
                "shuffles all of X in the same order and trains on its share of each batch."
            )
        return _distribute.live(self.distribute_strategy)

    def _check_trained(self, X):
        """Warn of a fit that ran but learned nothing useful; a family says how to tell."""

    def _check_keras_names(self):
        """Names of Keras objects (activations, the loss, the optimizer) that
        Keras does not know are refused with the valid ones, before Keras sees them."""
        for name, value in self.get_params(deep=False).items():
            module = keras.activations if name.endswith("activation") else _KERAS_NAMED.get(name)
            if module is None or not isinstance(value, str) or value == "auto":
                continue
            try:
                module.get(value)
            except (ValueError, TypeError):
                raise ValueError(
                    f"{name}={value!r} is not a name Keras knows. Valid names: {', '.join(_keras_names(module))}."
                ) from None

    def _fitted_state(self, *, trained):
        """What ``_restore`` needs to undo a call: the fitted attributes, and
        with ``trained`` the values of the variables training changes."""
        state = {"attributes": {k: v for k, v in vars(self).items() if is_fitted_name(k)}}
        if trained:
            state["history"] = {k: list(v) for k, v in self.history_.items()}
            state["variables"] = [v.numpy() for v in self.model_.variables]
            state["optimizer"] = [v.numpy() for v in self.model_.optimizer.variables]
        return state

    def _restore(self, state):
        self._forget()
        vars(self).update(state["attributes"])
        if "variables" in state:
            self.history_ = defaultdict(list, state["history"])
            for variable, value in zip(self.model_.variables, state["variables"]):
                variable.assign(value)
            optimizer = self.model_.optimizer.variables
            if len(optimizer) == len(state["optimizer"]):  # else it was built by the failed call, and starts afresh
                for variable, value in zip(optimizer, state["optimizer"]):
                    variable.assign(value)
            self._refresh_inference()

    @property
    def _epochs_trained(self):
        """Epochs trained so far (0 before fit)."""
        return len(getattr(self, "history_", {}).get("loss", ()))

    def _draw_seed(self):
        if self.random_state is None:
            return None
        if isinstance(self.random_state, Integral):
            return int(self.random_state)
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _fit_part(self, estimator, X, *, train, seed_offset=0):
        """Fit a clone of a skae estimator this one is built from.

        A part whose ``random_state`` is None is seeded from this estimator's.
        Returns the fitted clone and X in its network's layout.
        """
        part = clone(estimator)
        if self._random_state is not None and part.random_state is None:
            part.set_params(random_state=self._random_state + seed_offset)
        if _distribute.recipe(part.distribute_strategy) not in (None, _distribute.recipe(self.distribute_strategy)):
            raise ValueError(
                f"{type(self).__name__}'s parts train under its distribute_strategy: set it on the "
                f"{type(self).__name__}, and leave the part's {type(estimator).__name__} at None."
            )
        part.set_params(distribute_strategy=self.distribute_strategy)  # the same strategy, not clone's copy
        part._validate_params()
        return part, part._fit(X, None, partial=False, train=train)

    def _layers(self, *parts):
        """The layers of ``model_`` that make up ``parts`` of the network."""
        return self._network.layers(self.model_, *parts)

    def _seeded(self, *, global_seed=False):
        """Seed Keras's layers and TensorFlow for a block; restore them after.
        Op determinism stays off where the user asked for XLA, which Keras
        turns off under it (XLA's own programs are reproducible: tested)."""
        if self._random_state is None:
            return nullcontext()
        xla = self._routed_params().get("compile__jit_compile") is True
        return _seeds.seeded(self._random_state, global_seed_too=global_seed, determinism=not xla)

    def _get_compile_kwargs(self, loss):
        params = self.get_params()
        return {
            "steps_per_execution": _speedups.STEPS_PER_EXECUTION,
            **_scikeras.routed(params, "compile"),
            "optimizer": _scikeras.build_optimizer(self.optimizer, self.learning_rate, params),
            "loss": _scikeras.build_loss(loss, params),
        }

    def _n_epochs(self, X, y):
        return _training.auto_epochs(len(X)) if self.epochs == "auto" else self.epochs

    def _keras_fit_params(self):
        """The ``fit__`` parameters for Keras's ``fit`` (callbacks aside)."""
        return {k: v for k, v in _scikeras.routed(self.get_params(), "fit").items() if not k.startswith("callbacks")}

    def _train(self, X, y, *, epochs, initial_epoch, warm):
        trained_before = self._epochs_trained > 0
        if epochs == 0 or initial_epoch == 0 or not warm or not hasattr(self, "history_"):
            self.history_ = defaultdict(list)  # a warm start's fit begins a new history, as in scikeras
        if epochs == 0:
            return
        params = self.get_params()
        users_callbacks = _scikeras.build_callbacks(params)
        callbacks = [*users_callbacks, _training.StopOnNonFiniteLoss(), *self._training_callbacks(X)]
        validation_data, start = None, None
        early_stopping = self._early_stopping(X, warm)
        if early_stopping:
            split = dict(test_size=self.validation_fraction, random_state=self._random_state)
            if y is X:  # an autoencoder's target: split once, keep it the same array
                X, X_val = train_test_split(X, **split)
                y, y_val = X, X_val
            else:
                X, X_val, y, y_val = train_test_split(X, y, **split)
            validation_data = (X_val, y_val)
            if not warm and self._starts_well():  # the first weights can be the best: PCA's solution
                start = (X_val, y_val, self.batch_size)
        if early_stopping or self.tol is not None:
            callbacks.append(
                _training.StopWhenConverged("val_loss" if early_stopping else "loss", self.tol or 0.0,
                                            self.n_iter_no_change, restore_best=early_stopping, start=start)
            )  # fmt: skip
        fit_params = self._keras_fit_params()
        if self.distribute_strategy is not None:  # a model moved under a strategy included
            self.model_.steps_per_execution = 1  # several steps per call fail under one (keras-team/keras#19246)
        elif not trained_before and "compile__steps_per_execution" not in params:
            n_batches = -(-len(X) // self.batch_size)
            self.model_.steps_per_execution = _speedups.steps_per_execution(n_batches)
        # the shuffle too: skae's stream takes the seed, Keras's batching (a fit__ parameter) the global one
        with self._seeded(global_seed=bool(fit_params)):
            history = _training.fit_model(
                self.model_, X, y, batch_size=self.batch_size, epochs=epochs, initial_epoch=initial_epoch,
                callbacks=callbacks, verbose=self.verbose, seed=self._random_state,
                validation_data=validation_data, fit_params=fit_params,
                # a twin trains in place of model_, unless the user's callbacks
                # or functions may look for model_ or not be told apart by name
                # (nor under a strategy: the twin is built under none)
                reuse=not users_callbacks and not any(map(_is_users_function, params.values()))
                and self.distribute_strategy is None,
            )  # fmt: skip
        for key, values in history.items():
            self.history_[key] += values
        _training.check_losses(self.history_["loss"], self.learning_rate, kept_best=early_stopping)

    def _training_callbacks(self, X):
        """skae's own callbacks a family adds to a fit on X."""
        return []

    def _early_stopping(self, X, warm):
        """``early_stopping`` resolved: "auto" holds out data in a new fit
        (not a warm start or ``partial_fit``, which train on all they are
        given) where the network starts well (``_starts_well``) and X has
        rows to spare."""
        if self.early_stopping != "auto":
            return self.early_stopping
        in_memory = isinstance(X, np.ndarray) and AUTO_VALIDATION_ROWS <= len(X) and X.size <= AUTO_VALIDATION_VALUES
        return not warm and in_memory and self._starts_well()

    def _starts_well(self):
        """Whether the network's first weights are a solution worth keeping
        (PCA's, for an autoencoder with a linear path)."""
        return False

    def _forget(self):
        """Drop every fitted attribute: unfitted, not half-fitted."""
        for name in [name for name in vars(self) if is_fitted_name(name)]:
            delattr(self, name)

    # -- saving and pickling ----------------------------------------------------

    # Fitted state rebuilt on loading, by _relink, rather than pickled.
    _rebuilt_on_load = ("_forward",)

    def __getstate__(self):
        # model_ travels as the bytes of a .keras file; what shares its layers
        # (the forward passes, and a subclass's views) is rebuilt on loading.
        state = {k: v for k, v in super().__getstate__().items() if k not in self._rebuilt_on_load}
        if "model_" in state:
            state["model_"] = _persistence.PackedModel(state["model_"])
        # a strategy cannot be pickled: what builds it again can
        state["distribute_strategy"] = _distribute.recipe(state.get("distribute_strategy"))
        return state

    def __setstate__(self, state):
        state = {"distribute_strategy": None, **state}  # saved before the parameter existed
        if isinstance(state.get("model_"), _persistence.PackedModel):
            state = {**state, "model_": state["model_"].unpack()}
        super().__setstate__(state)
        if "model_" in state:
            self._relink()

    def _relink(self):
        self._refresh_inference()


_KERAS_NAMED = {"loss": keras.losses, "optimizer": keras.optimizers}


def _keras_names(module):
    """The names ``module.get`` knows, for an error message."""
    if module is keras.optimizers:
        classes = [getattr(module, name) for name in dir(module)]
        return sorted(c.__name__.lower() for c in classes if isinstance(c, type) and issubclass(c, module.Optimizer))
    skip = {"get", "serialize", "deserialize"}
    return sorted(n for n in dir(module) if n.islower() and n not in skip and callable(getattr(module, n)))


def _is_users_function(value):
    """A function or callable object that is neither Keras's nor skae's."""
    if not callable(value) or isinstance(value, type):
        return False
    module = getattr(value, "__module__", None) or type(value).__module__
    return module.split(".")[0] not in ("keras", "skae")


def is_fitted_name(name):
    """Whether an attribute of that name is fitted state, which a failed
    call restores and ``_forget`` drops."""
    return (name.endswith("_") and not name.startswith("__")) or name in _PRIVATE_FITTED


def _check_routed(cls, params):
    """Unknown keywords are refused at construction, as Python refuses them."""
    unknown = sorted(k for k in params if not _scikeras.is_routed(k))
    if unknown:
        known = inspect.signature(cls).parameters
        names = [f"{name!r} is {_OTHER_NAMES[name]}" for name in unknown if _OTHER_NAMES.get(name) in known]
        hint = f" In skae {', '.join(names)}." if names else ""
        raise TypeError(
            f"{cls.__name__}.__init__() got unexpected keyword arguments {unknown}.{hint} Routed parameters start "
            f"with one of {sorted(_scikeras.ROUTING_PREFIXES)} and '__', as in optimizer__beta_1."
        )


# What scikit-learn's other estimators call skae's parameters: a swap from them is told the name.
_OTHER_NAMES = {
    "n_iter": "epochs",  # BernoulliRBM
    "max_iter": "epochs",  # MLPRegressor, NMF
    "learning_rate_init": "learning_rate",  # MLPRegressor
    "hidden_layer_size": "hidden_layer_sizes",
}
