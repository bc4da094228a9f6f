"""The base every skae autoencoder stands on.

It owns the scikit-learn contract (parameters, tags, validation, fitted state)
and the Keras machinery (building, compiling, training, fast inference,
pickling) around a network that each family describes in ``_build_network``.
"""

import inspect
import logging
import re
from collections import defaultdict
from contextlib import contextmanager, nullcontext
from numbers import Integral, Real

import keras
import numpy as np
import tensorflow as tf
from scikeras._utils import (
    get_loss_class_function_or_string,
    get_optimizer_class,
    route_params,
    try_to_convert_strings_to_classes,
    unflatten_params,
)
from scikeras.utils.random_state import tensorflow_random_state
from scikeras.wrappers import BaseWrapper
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
    clone,
)
from sklearn.model_selection import train_test_split
from sklearn.utils import assert_all_finite, check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, validate_data
from tensorflow.python.framework import config as tf_config

from ._inference import compile_forward

if keras.backend.backend() != "tensorflow":
    raise ImportError(
        "skae runs on Keras's TensorFlow backend. "
        f"Received: KERAS_BACKEND={keras.backend.backend()!r}"
    )

# scikeras's tensorflow_random_state sets TF_DETERMINISTIC_OPS=1 and then asks
# whether op determinism was on, to restore it after. TensorFlow caches its
# first answer, so were that the first question, it would read the variable,
# answer yes, and leave determinism on for good: every later unseeded fit would
# then fail on random ops. Asking once now caches the true answer.
tf_config.is_op_determinism_enabled()

# Parameters named "<prefix>__<name>" are routed, as in scikeras: for example
# optimizer__beta_1=0.95 reaches the optimizer's constructor.
ROUTING_PREFIXES = frozenset({"optimizer", "loss", "compile", "fit", "callbacks"})

# Keras pays a fixed Python cost per training step; running up to 16 steps per
# call makes small networks on CPU 1.5-2x faster to train (benchmarks/run.py).
# But Keras traces its multi-step loop twice, about 0.1 s more than one step:
# a first training of fewer steps than SHORT_FIT_STEPS runs one step per call.
STEPS_PER_EXECUTION = 16
SHORT_FIT_STEPS = 100

# epochs="auto" shows the network about this many samples, within EPOCH_RANGE.
AUTO_EPOCH_SAMPLES = 100_000
AUTO_EPOCH_RANGE = (10, 200)

# Fitted state that does not end in "_": dropped with the model.
_PRIVATE_FITTED = ("_network_steps", "_forward", "_fit_callbacks", "_predict_callbacks", "_random_state")


class _StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Keras's TerminateOnNaN without its print: fit raises its own error.

    It looks once an epoch: a batch-level hook makes Keras fetch the loss
    after every step, which costs a quarter of the fit time of a small
    network (benchmarks/run.py).
    """

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(loss):
            self.model.stop_training = True


def _epochs_of_batches(X, y, batch_size, seed):
    """X and y as an endless tf.data stream of shuffled batches.

    Each epoch is one pass over a new permutation, its last batch short, as
    Keras batches arrays. But Keras builds a new iterator over arrays every
    epoch, about 10 ms on CPU: a fit of 200 epochs on a few hundred rows spent
    two thirds of its time there. Fed this stream with ``steps_per_epoch``,
    Keras keeps one iterator for the whole fit.
    """

    def tensor(a):
        return tf.convert_to_tensor(a, dtype=keras.backend.floatx() if a.dtype.kind == "f" else None)

    X_t = tensor(X)
    data = (X_t, X_t if y is X else tensor(y))
    batches = tf.data.Dataset.range(len(X)).shuffle(len(X), seed=seed, reshuffle_each_iteration=True).batch(batch_size)
    stream = tf.data.Dataset.zip(batches.repeat(), tf.data.Dataset.from_tensors(data).repeat())
    return stream.map(lambda rows, arrays: tuple(tf.gather(a, rows) for a in arrays)).prefetch(2)


class _RetracingNoise(logging.Filter):
    """Drops TensorFlow's warning that tf.functions are "retracing".

    TensorFlow counts traces per code object, so fitting a sixth model (a grid
    search does) traces Keras's training function "again" and warns, though
    each model's function is traced only once or twice.
    """

    def filter(self, record):
        return "triggered tf.function retracing" not in record.getMessage()


@contextmanager
def _quiet_retracing():
    logger, noise = logging.getLogger("tensorflow"), _RetracingNoise()
    logger.addFilter(noise)
    try:
        yield
    finally:
        logger.removeFilter(noise)


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


def _is_routed(name):
    return name.partition("__")[0] in ROUTING_PREFIXES and "__" in name


def auto_epochs(n_samples):
    """Epochs for ``epochs="auto"``: about 100 000 samples seen, 10 to 200 epochs."""
    return int(np.clip(np.ceil(AUTO_EPOCH_SAMPLES / n_samples), *AUTO_EPOCH_RANGE))


def resolve_output_activation(activation, X):
    """``output_activation="auto"``: sigmoid for data in [0, 1], else linear."""
    if activation != "auto":
        return activation
    return "sigmoid" if X.min() >= 0 and X.max() <= 1 else "linear"


def chain(tensor, steps):
    """Apply ``[(layer, call_kwargs), ...]`` in order."""
    for layer, kwargs in steps:
        tensor = layer(tensor, **kwargs)
    return tensor


class _Unavailable:
    """Hides a public method of scikeras's BaseWrapper that a skae estimator
    does not offer: reading it raises AttributeError, so ``hasattr`` is
    False and scikit-learn does not call it."""

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, instance, owner=None):
        raise AttributeError(f"{owner.__name__} has no method {self.name!r}")


class KerasEstimator(BaseWrapper):
    """What every skae estimator shares, around a Keras model it owns.

    The training parameters and scikeras-routed ones, seeding, compiling,
    training with early stopping and callbacks, a fitted state that is all or
    nothing, and pickling. A subclass says how to check the data
    (``_validate_fit_data``), build the model (``_build``) and make its fast
    inference (``_refresh_inference``).
    """

    _parameter_constraints = {
        "epochs": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "optimizer": [str, type, HasMethods(["apply_gradients"])],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "loss": [str, callable],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "callbacks": [list, dict, HasMethods(["set_model"]), None],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
    }

    _routing_prefixes = ROUTING_PREFIXES

    initialize = _Unavailable()  # fit builds the model; scikeras's initialize skips our checks

    def __init__(
        self,
        *,
        epochs="auto",
        batch_size=32,
        optimizer="adam",
        learning_rate=0.001,
        loss="auto",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        callbacks=None,
        verbose=0,
        random_state=None,
        warm_start=False,
        **routed_params,
    ):
        self.epochs = epochs
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.loss = loss
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.callbacks = callbacks
        self.verbose = verbose
        self.random_state = random_state
        self.warm_start = warm_start
        vars(self).update(routed_params)

    # -- the scikit-learn contract -------------------------------------------

    # scikeras lists every public attribute as a parameter; like scikit-learn,
    # we list the signature, plus the routed parameters that were set.
    _get_param_names = classmethod(BaseEstimator._get_param_names.__func__)
    __repr__ = BaseEstimator.__repr__

    def _extra_params(self):
        """Parameters stored from ``**routed_params``; fit rejects non-routed ones."""
        declared = set(self._get_param_names())
        return {
            k: v for k, v in vars(self).items() if k not in declared and not k.startswith("_") and not k.endswith("_")
        }

    def get_params(self, deep=True):
        return {**super().get_params(deep=deep), **self._extra_params()}

    def set_params(self, **params):
        stored = self._extra_params()
        extra = {k: v for k, v in params.items() if _is_routed(k) or k in stored}
        vars(self).update(extra)
        return super().set_params(**{k: v for k, v in params.items() if k not in extra})

    def __sklearn_is_fitted__(self):
        return hasattr(self, "model_")

    def _check_routed_params(self):
        unknown = [k for k in self._extra_params() if not _is_routed(k)]
        if unknown:
            raise TypeError(
                f"{type(self).__name__} got unexpected parameters {unknown}. Routed parameters "
                f"start with one of {sorted(ROUTING_PREFIXES)} and '__', as in optimizer__beta_1."
            )

    # Whether X may have more than two dimensions (images).
    _accepts_images = False

    def _validate_X(self, X, *, reset):
        """Check X as scikit-learn does, before Keras sees it; float32 out."""
        if not reset and self._is_plain_float_matrix(X):
            # validate_data costs ~60 us, more than a one-row forward pass. A
            # float ndarray of the fitted width, fitted without feature names,
            # passes all its checks but one: its values must be finite.
            assert_all_finite(X, input_name="X")
        else:
            X = validate_data(self, X, reset=reset, dtype="numeric", allow_nd=self._accepts_images)
        return X.astype(np.float32, copy=False)

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
        Returns the validated X. On any error the estimator is left unfitted,
        except that bad data for a fitted network to go on with change nothing.
        """
        self._check_routed_params()
        keep = (partial or self.warm_start) and self.__sklearn_is_fitted__()
        if not keep:
            self._forget()
        try:
            X, y = self._validate_fit_data(X, y, reset=not keep)
        except BaseException:
            if not keep:
                self._forget()  # validation may have set n_features_in_
            raise
        try:
            if not keep:
                self._random_state = self._draw_seed()
                self._build(X, train=train)
            if partial:
                self._train(X, y, epochs=1, initial_epoch=self.current_epoch, warm=True)
            else:
                self._train(X, y, epochs=self._n_epochs(X, y) if train else 0, initial_epoch=0, warm=keep)
            self._refresh_inference()
        except BaseException:
            self._forget()
            raise
        return X

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
        part._validate_params()
        return part, part._fit(X, None, partial=False, train=train)

    @staticmethod
    def _layer_names(steps):
        """``[(layer, kwargs), ...]`` as layer names, which survive pickling."""
        return [(layer.name, kwargs) for layer, kwargs in steps]

    def _named_layers(self, named_steps):
        """The layers of ``model_`` that ``_layer_names`` named."""
        return [(self.model_.get_layer(name), kwargs) for name, kwargs in named_steps]

    def _seeded(self):
        """Seed Python, numpy and TensorFlow for a block; restore them after."""
        if self._random_state is None:
            return nullcontext()
        return tensorflow_random_state(self._random_state)

    def _get_compile_kwargs(self, loss):
        params = self.get_params()
        optimizer = self.optimizer
        if isinstance(optimizer, keras.optimizers.Optimizer):
            # An optimizer instance holds the slots of the model it trained.
            optimizer = type(optimizer).from_config(optimizer.get_config())
        else:
            optimizer = unflatten_params(
                items=try_to_convert_strings_to_classes(optimizer, get_optimizer_class),
                params={
                    "learning_rate": self.learning_rate,
                    **route_params(params, destination="optimizer", pass_filter=set(), strict=True),
                },
            )
        loss = unflatten_params(
            items=try_to_convert_strings_to_classes(loss, get_loss_class_function_or_string),
            params=route_params(params, destination="loss", pass_filter=set()),
        )
        return {
            "steps_per_execution": STEPS_PER_EXECUTION,
            **route_params(params, destination="compile", pass_filter=set()),
            "optimizer": optimizer,
            "loss": loss,
        }

    def _n_epochs(self, X, y):
        return auto_epochs(len(X)) if self.epochs == "auto" else self.epochs

    def _train(self, X, y, *, epochs, initial_epoch, warm):
        if epochs == 0:
            self.history_ = defaultdict(list)
            return
        self._initialize_callbacks()  # scikeras: the user's callbacks, routed
        self._fit_callbacks.append(_StopOnNonFiniteLoss())
        fit_kwargs = {}
        if self.early_stopping:
            split = dict(test_size=self.validation_fraction, random_state=self._random_state)
            if y is X:  # an autoencoder's target: split once, keep it the same array
                X, X_val = train_test_split(X, **split)
                y, y_val = X, X_val
            else:
                X, X_val, y, y_val = train_test_split(X, y, **split)
            fit_kwargs["validation_data"] = (X_val, y_val)
            self._fit_callbacks.append(
                keras.callbacks.EarlyStopping(patience=self.n_iter_no_change, restore_best_weights=True)
            )
        n_batches, extra = -(-len(X) // self.batch_size), self._extra_params()
        if self.model_.train_function is None and "compile__steps_per_execution" not in extra:
            # Up to 16 steps per call, and a whole number of calls per epoch.
            short = epochs * n_batches < SHORT_FIT_STEPS
            self.model_.steps_per_execution = 1 if short else min(n_batches, STEPS_PER_EXECUTION)
        if n_batches % self.model_.steps_per_execution == 0 and not any(k.startswith("fit__") for k in extra):
            fit_kwargs.update(steps_per_epoch=n_batches, shuffle=False)
            X, y = _epochs_of_batches(X, y, self.batch_size, self._random_state), None
        with _quiet_retracing():
            self._fit_keras_model(
                X, y, sample_weight=None, warm_start=warm, epochs=epochs, initial_epoch=initial_epoch, **fit_kwargs
            )
        losses = np.asarray(self.history_["loss"], dtype=float)
        if not np.all(np.isfinite(losses)):
            epoch = int(np.argmin(np.isfinite(losses))) + 1
            raise ValueError(
                f"Training diverged: the loss became {losses[epoch - 1]} in epoch {epoch}. "
                f"Lower learning_rate (learning_rate={self.learning_rate}) or scale X, "
                "for example with StandardScaler or MinMaxScaler."
            )

    def _forget(self):
        """Drop every fitted attribute: unfitted, not half-fitted."""
        for name in list(vars(self)):
            if (name.endswith("_") and not name.startswith("__")) or name in _PRIVATE_FITTED:
                delattr(self, name)

    # -- pickling ----------------------------------------------------------------

    # Fitted state rebuilt on loading, by _relink, rather than pickled.
    _rebuilt_on_load = ("_forward", "_fit_callbacks", "_predict_callbacks")

    def __getstate__(self):
        # model_ pickles through scikeras's Keras zip; what shares its layers
        # (the forward passes, and a subclass's views) is rebuilt on loading.
        state = dict(super().__getstate__())
        for name in self._rebuilt_on_load:
            state.pop(name, None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if "model_" in state:
            self._relink()

    def _relink(self):
        self._refresh_inference()


class BaseAutoencoder(TransformerMixin, ClassNamePrefixFeaturesOutMixin, KerasEstimator):
    """Base class of skae's autoencoders. Not meant to be used directly.

    A family subclasses it, declares its own ``_parameter_constraints`` and
    ``__init__``, and implements ``_build_network(X)``, which returns the
    encoder's and the decoder's layers as two lists of ``(layer, call_kwargs)``.
    The base assembles ``model_``, ``encoder_`` and ``decoder_`` from them,
    trains ``model_`` to reconstruct X, and runs inference without
    ``Model.predict`` (see ``skae._inference``).
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        # The network computes in float32, and so do transform's outputs.
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    @property
    def _n_features_out(self):
        return self.n_components_

    def _validate_fit_data(self, X, y, *, reset):
        X = self._validate_X(X, reset=reset)
        return X, X  # the target is the input

    def _network_layout(self, X):
        """Validated X in the layout of the network's input; a family that
        reads X as images reshapes it."""
        return X

    # -- fitting ---------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the autoencoder to reconstruct X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored; present so that the autoencoder fits in a Pipeline.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._fit(X, y, partial=False)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train for one more epoch, building the network on the first call.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._fit(X, y, partial=True)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Fit to X, then return its codes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.

        Returns
        -------
        codes : ndarray of shape (n_samples, `n_components_`), dtype float32
            The codes of X.
        """
        return self._transform(self._fit(X, y, partial=False))

    def _build(self, X, *, train=True):
        with self._seeded():
            encoder_steps, decoder_steps = self._build_network(X)
            inputs = keras.Input(X.shape[1:])
            outputs = chain(chain(inputs, encoder_steps), decoder_steps)
            self.model_ = self._make_model(inputs, outputs, encoder_steps)
        self._network_steps = (self._layer_names(encoder_steps), self._layer_names(decoder_steps))
        self.loss_ = self._auto_loss(X) if self.loss == "auto" else self.loss
        self.model_.compile(**self._get_compile_kwargs(self.loss_))
        self._link()

    def _auto_loss(self, X):
        """``loss="auto"``: cross-entropy for a sigmoid output of [0, 1] data."""
        in_unit_range = X.min() >= 0 and X.max() <= 1
        return "binary_crossentropy" if self.output_activation_ == "sigmoid" and in_unit_range else "mse"

    def _make_model(self, inputs, outputs, encoder_steps):
        """The Keras model of the whole autoencoder: a family with its own
        loss returns a model class that computes it."""
        return keras.Model(inputs, outputs, name=type(self).__name__.lower())

    def _link(self):
        """Make ``encoder_`` and ``decoder_`` from the layers of ``model_``."""
        encoder_steps, decoder_steps = self._steps()
        inputs = keras.Input(self.model_.input_shape[1:])
        codes = chain(inputs, encoder_steps)
        self.encoder_ = keras.Model(inputs, codes, name="encoder")
        code_inputs = keras.Input(codes.shape[1:])
        self.decoder_ = keras.Model(code_inputs, chain(code_inputs, decoder_steps), name="decoder")
        self.n_components_ = int(np.prod(codes.shape[1:]))

    def _steps(self):
        return tuple(self._named_layers(steps) for steps in self._network_steps)

    def _refresh_inference(self):
        """Copy the trained weights into the fast forward passes."""
        encoder_steps, decoder_steps = self._steps()
        self._forward = {
            "encoder": compile_forward(self.encoder_, encoder_steps),
            "decoder": compile_forward(self.decoder_, decoder_steps),
            "model": compile_forward(self.model_, encoder_steps + decoder_steps),
        }

    # -- inference -------------------------------------------------------------

    def transform(self, X):
        """Encode X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to encode.

        Returns
        -------
        codes : ndarray of shape (n_samples, `n_components_`), dtype float32
            The code of each sample.
        """
        check_is_fitted(self)
        return self._transform(self._validate_X(X, reset=False))

    def _transform(self, X):
        codes = self._forward["encoder"](X)
        return codes.reshape(len(codes), -1)

    def inverse_transform(self, X):
        """Decode codes back to input space.

        Parameters
        ----------
        X : array-like of shape (n_samples, `n_components_`)
            Codes, as returned by ``transform``.

        Returns
        -------
        X_reconstructed : ndarray of shape (n_samples, n_features), dtype float32
            The reconstruction decoded from each code.
        """
        check_is_fitted(self)
        codes = check_array(X, dtype="numeric", input_name="X").astype(np.float32, copy=False)
        if codes.shape[1] != self.n_components_:
            raise ValueError(
                f"X has {codes.shape[1]} features, but {type(self).__name__}.inverse_transform "
                f"is expecting {self.n_components_} features (n_components_, the width of "
                "transform's output)."
            )
        codes = codes.reshape((len(codes), *self.decoder_.input_shape[1:]))
        return self._to_input_layout(self._forward["decoder"](codes))

    def _to_input_layout(self, X):
        """Network outputs in the layout of fit's X: a family that reshapes X
        for its network reshapes back here."""
        return X

    def predict(self, X):
        """Reconstruct X: ``inverse_transform(transform(X))`` in one pass.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to reconstruct.

        Returns
        -------
        X_reconstructed : ndarray of shape (n_samples, n_features), dtype float32
            The reconstruction of each sample.
        """
        check_is_fitted(self)
        return self._to_input_layout(self._forward["model"](self._validate_X(X, reset=False)))

    def score_samples(self, X):
        """Negative mean squared reconstruction error of each sample.

        Higher is more normal, as for scikit-learn's outlier detectors, so
        the lowest scores flag anomalies.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,), dtype float32
            ``-mean((X - predict(X)) ** 2)`` over the features of each sample.
            float32, the precision of the network's reconstruction.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        errors = (X - self._forward["model"](X)) ** 2
        return -errors.reshape(len(X), -1).mean(axis=1, dtype=np.float64).astype(np.float32)

    def score(self, X, y=None):
        """Negative mean squared reconstruction error over X.

        The default score of ``GridSearchCV``: higher is a better
        reconstruction, whatever ``loss`` the network was trained with.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score.
        y : None
            Ignored.

        Returns
        -------
        score : float
            ``-mean((X - predict(X)) ** 2)``.
        """
        return float(np.mean(self.score_samples(X), dtype=np.float64))

    # -- pickling ----------------------------------------------------------------

    _rebuilt_on_load = (*KerasEstimator._rebuilt_on_load, "encoder_", "decoder_")

    def _relink(self):
        self._link()
        self._refresh_inference()
