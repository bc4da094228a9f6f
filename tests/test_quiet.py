"""A first run is quiet: no TensorFlow line that a user would read as a failure,
unless the user's own log level asks for it."""

import os
import re
import subprocess
import sys

import pytest

from skae._quiet import _dropped

FIRST_RUN = """
from sklearn.datasets import load_digits
from skae import DenseAutoencoder
X = load_digits().data[:1347] / 16
# seeded (op determinism on), 43 batches of 32 and 16 steps per call: the case
# where Keras's own stream logged "E0000 ... NodeDef mentions attribute
# use_unbounded_threadpool" once per fit; early stopping adds a validation stream
DenseAutoencoder(8, epochs=12, random_state=0, early_stopping=True).fit(X).transform(X)
# the contractive penalty's Jacobian with hidden layers: batch_jacobian over a
# batch of unknown size logged "E0000 ... oneDNN supports DT_INT32 only"
from skae import ContractiveAutoencoder
ContractiveAutoencoder(4, hidden_layer_sizes=(16,), epochs=1, random_state=0).fit(X[:300])
# joblib's workers import TensorFlow on unpickling the estimator
from sklearn.model_selection import cross_validate
cross_validate(DenseAutoencoder(2, epochs=2), X, cv=2, n_jobs=2)
"""
TF_LINE = re.compile(r"^[IWEF]\d{4} [\d:.]+\s+\d+ ([\w.]+:\d+)\]", re.MULTILINE)
HAS_GPU = os.path.exists("/dev/nvidiactl")


def run(code, **env):
    environment = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=600, env={**environment, **env}
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stderr


@pytest.mark.skipif(HAS_GPU, reason="with a GPU, TensorFlow's device lines are for the user")
def test_a_first_fit_writes_nothing_to_stderr():
    stderr = run(FIRST_RUN)
    assert not TF_LINE.findall(stderr), stderr
    assert "absl::InitializeLog" not in stderr and "use_unbounded_threadpool" not in stderr
    assert stderr.strip() == "", stderr


def test_the_users_own_log_level_is_honoured():
    plain = TF_LINE.findall(run("import tensorflow as tf; tf.config.list_physical_devices()", TF_CPP_MIN_LOG_LEVEL="0"))
    assert set(plain) <= set(TF_LINE.findall(run(FIRST_RUN, TF_CPP_MIN_LOG_LEVEL="0")))


def test_which_lines_each_level_drops():
    info = "I0000 00:00:1.5 11 port.cc:153] oneDNN custom operations are on."
    notice = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
    cuinit = "E0000 00:00:1.5 11 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error"
    other = "E0000 00:00:1.5 11 some_op.cc:1] a real error"
    assert [_dropped(line, 0, has_gpu=False) for line in (info, notice, cuinit, other)] == [False, False, False, False]
    assert [_dropped(line, 1, has_gpu=False) for line in (info, notice, cuinit, other)] == [True, False, True, False]
    assert [_dropped(line, 2, has_gpu=True) for line in (info, notice, cuinit, other)] == [True, True, False, False]


def test_a_cuda_builds_plugin_lines_are_dropped_where_there_is_no_gpu():
    # TensorFlow 2.18's CUDA build on a machine without a GPU
    lines = [
        "E0000 00:00:1.5 11 cuda_fft.cc:485] Unable to register cuFFT factory: Attempting to register factory for "
        "plugin cuFFT when one has already been registered",
        "E0000 00:00:1.5 11 cuda_dnn.cc:8310] Unable to register cuDNN factory: Attempting to register factory",
        "E0000 00:00:1.5 11 cuda_blas.cc:1418] Unable to register cuBLAS factory: Attempting to register factory",
        "E0000 00:00:1.5 11 computation_placer.cc:177] computation placer already registered. Please check linkage",
    ]
    assert all(_dropped(line, 2, has_gpu=False) for line in lines)
    assert not any(_dropped(line, 2, has_gpu=True) for line in lines)
    assert not any(_dropped(line, 0, has_gpu=False) for line in lines)
