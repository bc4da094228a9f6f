"""Training a compiled Keras model: the data stream, the callbacks, the loop.

Plain functions that the estimators' ``_train`` calls; they know nothing of
scikit-learn.
"""

import logging
import sys
import warnings
from contextlib import contextmanager, nullcontext

import keras
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from . import _speedups
from ._distribute import keras_reduce_mended
from ._stream import batches
from ._twins import trained_twin

# epochs="auto" shows the network about this many samples, within EPOCH_RANGE.
AUTO_EPOCH_SAMPLES = 100_000
AUTO_EPOCH_RANGE = (10, 200)


def auto_epochs(n_samples):
    """Epochs for ``epochs="auto"``: about 100 000 samples seen, 10 to 200 epochs."""
    return int(np.clip(np.ceil(AUTO_EPOCH_SAMPLES / n_samples), *AUTO_EPOCH_RANGE))


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Keras's TerminateOnNaN without its print: fit raises its own error.

    It looks once an epoch: a batch-level hook makes Keras fetch the loss
    after every step, which costs a quarter of the fit time of a small
    network (benchmarks/run.py).
    """

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(loss):
            self.model.stop_training = True


class BeforeEachEpoch(keras.callbacks.Callback):
    """Calls ``function(model, epoch)`` before each epoch, on the model that trains."""

    def __init__(self, function):
        super().__init__()
        self.function = function

    def on_epoch_begin(self, epoch, logs=None):
        self.function(self.model, epoch)


class StopWhenConverged(keras.callbacks.Callback):
    """MLPRegressor's stopping rule: stop once ``monitor`` has failed to beat
    its best value by more than ``tol`` for more than ``n_iter_no_change``
    epochs in a row. ``restore_best`` ends with the best epoch's weights
    (for a validation loss: the last weights are as good for a training loss).

    Keras's EarlyStopping differs: it counts epochs since the last one that
    beat the best by ``min_delta``, so a loss that falls a little every
    epoch never stops it.
    """

    def __init__(self, monitor, tol, n_iter_no_change, *, restore_best, start=None):
        super().__init__()
        self.monitor, self.tol, self.n_iter_no_change, self.restore_best = monitor, tol, n_iter_no_change, restore_best
        # (X_val, y_val, batch_size): the first weights are a candidate too, at their validation loss
        self.start = start

    def on_train_begin(self, logs=None):
        self.best, self.best_weights, self.n_without_change = np.inf, None, 0
        if self.start is not None:
            X_val, y_val, batch_size = self.start
            stream = batches(X_val, y_val, batch_size, shuffle=False)
            self.best = self.model.evaluate(stream, verbose=0, return_dict=True)["loss"]
            self.best_weights = self.model.get_weights()

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or not np.isfinite(value):
            return
        self.n_without_change = self.n_without_change + 1 if value > self.best - self.tol else 0
        if value < self.best:
            self.best = value
            if self.restore_best:
                self.best_weights = self.model.get_weights()
        if self.n_without_change > self.n_iter_no_change:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


class _RetracingNoise(logging.Filter):
    """Drops TensorFlow's warning that tf.functions are "retracing".

    TensorFlow counts traces per code object, so fitting a sixth model (a grid
    search does) traces Keras's training function "again" and warns, though
    each model's function is traced only once or twice.
    """

    def filter(self, record):
        return "triggered tf.function retracing" not in record.getMessage()


@contextmanager
def quiet_retracing():
    logger, noise = logging.getLogger("tensorflow"), _RetracingNoise()
    logger.addFilter(noise)
    try:
        yield
    finally:
        logger.removeFilter(noise)


def fit_model(
    model, X, y, *, batch_size, epochs, initial_epoch, callbacks, verbose, seed, validation_data, fit_params, reuse=True
):
    """Train ``model`` for ``epochs`` more epochs; its history as a dict.

    Arrays are fed as skae's own endless stream (``batches``), several
    steps a call (``_speedups.counted_steps``), unless a ``fit__`` parameter
    asks for Keras's batching and loop. On the public path, an epoch whose
    batches the steps per call do not divide is a stream of its own. With
    ``reuse``, a twin of the model trains in its place (``trained_twin``).
    """
    kwargs = {"batch_size": batch_size, "validation_data": validation_data, "verbose": verbose, **fit_params}
    if not model.optimizer.built:
        # Built inside the traced step, the optimizer's variables would make
        # TensorFlow trace the step twice: 0.3-0.5 s more per fit (digits).
        model.optimizer.build(model.trainable_variables)
    n_batches = -(-len(X) // batch_size)
    if not fit_params:
        # Keras runs whole calls of steps_per_execution steps on an endless stream
        endless = _speedups.ON["counted_steps"] or n_batches % model.steps_per_execution == 0
        kwargs.update(shuffle=False, batch_size=None, steps_per_epoch=n_batches if endless else None)
        X, y = batches(X, y, batch_size, seed, endless=endless), None
        if validation_data is not None:
            kwargs["validation_data"] = batches(*validation_data, batch_size, shuffle=False)
    with (
        quiet_retracing(),
        keras_reduce_mended(model.distribute_strategy),
        trained_twin(model) if reuse else nullcontext(model) as trainer,
        _speedups.counted_steps(trainer, n_batches) if not fit_params else nullcontext(),
    ):
        _speedups.fuse_adam(trainer.optimizer)
        history = trainer.fit(
            X, y, epochs=initial_epoch + epochs, initial_epoch=initial_epoch, callbacks=callbacks, **kwargs
        )
    return history.history


# A loss this many times its lowest value has diverged, though still finite.
GROWTH_FACTOR = 100


def check_losses(losses, learning_rate, *, kept_best=False):
    """Raise if training diverged to a loss that is not finite; warn if the
    loss grew by orders of magnitude from its lowest value, unless the fit
    kept its best epoch's weights (``kept_best``: early stopping), whose
    loss is not the last."""
    losses = np.asarray(losses, dtype=float)
    advice = (
        f"Lower learning_rate (learning_rate={learning_rate}) or scale X, for example with StandardScaler or "
        "MinMaxScaler."
    )
    if not np.all(np.isfinite(losses)):
        epoch = int(np.argmin(np.isfinite(losses))) + 1
        raise ValueError(f"Training diverged: the loss became {losses[epoch - 1]} in epoch {epoch}. {advice}")
    if not kept_best and len(losses) > 1 and losses.min() > 0 and losses[-1] > GROWTH_FACTOR * losses.min():
        best = int(np.argmin(losses)) + 1
        warn_caller(
            f"Training diverged: the loss grew from {losses.min():.4g} in epoch {best} to {losses[-1]:.4g} in epoch "
            f"{len(losses)}, {losses[-1] / losses.min():.0f} times as much. {advice}",
            ConvergenceWarning,
        )


def warn_caller(message, category):
    """Warn, pointing at the first caller outside skae and scikit-learn: the
    user's ``fit``, or their ``GridSearchCV.fit``."""
    frame, level = sys._getframe(1), 2
    while frame is not None and frame.f_globals.get("__name__", "").split(".")[0] in ("skae", "sklearn"):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
