"""skae._training: the epochs policy, the stopping rule, the divergence checks."""

import warnings

import keras
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skae._training import StopWhenConverged, auto_epochs, check_losses


def test_auto_epochs_sees_about_100k_samples():
    assert auto_epochs(1347) == 75
    assert auto_epochs(60_000) == 10
    assert auto_epochs(20) == 200


@pytest.mark.parametrize(
    "losses, stopped_after",
    [
        ([1.0, 0.5, 0.49995, 0.4999, 0.49985, 0.4998], 5),  # gains of 5e-5 count as none, in a row
        ([1.0, 0.5, 0.49995, 0.4998, 0.49975, 0.4997, 0.49965], 7),  # a gain of 1.5e-4 on the best resets the count
        ([1.0, 0.9998, 0.9996, 0.9994, 0.9992, 0.9990], None),  # a slow but steady fall never stops
        ([1.0, 0.5, 0.6, np.nan, 0.7, 0.8], 6),  # non-finite losses are not counted
    ],
)
def test_stopping_rule_counts_epochs_without_improvement_as_mlpregressor_does(losses, stopped_after):
    rule = StopWhenConverged("loss", 1e-4, 2, restore_best=False)
    rule.set_model(keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)]))
    rule.model.stop_training = False  # as Model.fit sets it
    rule.on_train_begin()
    stopped = None
    for epoch, loss in enumerate(losses):
        rule.on_epoch_end(epoch, {"loss": loss})
        if rule.model.stop_training and stopped is None:
            stopped = epoch + 1
    assert stopped == stopped_after


def test_check_losses_tells_divergence_from_noise():
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        check_losses([1.0, 0.5, 0.6, 0.4, 30.0], learning_rate=0.1)  # up and down, within 100 times its lowest
        check_losses([-5.0, -1.0, 200.0], learning_rate=0.1)  # a loss that can be negative: no ratio to judge by
        # early stopping kept the best epoch's weights (a linear path's start at PCA's solution: 1e-8)
        check_losses([1e-8, 2e-7, 4e-5], learning_rate=0.1, kept_best=True)
    with pytest.warns(ConvergenceWarning, match="grew from 0.5 in epoch 2 to 60 in epoch 3, 120 times"):
        check_losses([1.0, 0.5, 60.0], learning_rate=0.1)
    with pytest.raises(ValueError, match="the loss became inf in epoch 2"):
        check_losses([1.0, np.inf, np.nan], learning_rate=0.1)
