"""TensorFlow's start-up lines, filtered as the user's log level asks.

TensorFlow's C++ library writes a few lines to stderr when it loads, before
its logging reads ``TF_CPP_MIN_LOG_LEVEL``: INFO lines (``I0000 ...
oneDNN custom operations are on``, ``Could not find cuda drivers``, the CPU
instructions notice), absl's ``WARNING: All log messages before
absl::InitializeLog() ...``, and on a machine with no NVIDIA GPU ``E0000 ...
failed call to cuInit``, an error only where a GPU is expected. A new user
reads them as failures.

skae imports TensorFlow once, with stderr captured at the file-descriptor
level, and writes back every line that the log level lets through:
``TF_CPP_MIN_LOG_LEVEL`` as the user set it (skae's default is 2: warnings
and errors only). INFO lines go at level 1 and above, absl's notice at 2 and
above, the cuInit error and a CUDA build's "Unable to register cuDNN
factory" lines at 1 and above when the machine has no NVIDIA device.
Everything else, and everything at level 0, is written back as it came.
"""

import os
import re
import sys
import tempfile
from contextlib import contextmanager

_INFO = re.compile(r"^I\d{4} |^To enable the following instructions:")
_ABSL_NOTICE = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
_CUINIT = re.compile(r"^E\d{4} .*failed call to cuInit")
# A CUDA build of TensorFlow (2.18, 2.19) on a machine without a GPU: each
# CUDA library's plugin registered twice, an error line each.
_CUDA_REGISTRATION = re.compile(
    r"^E\d{4} .*(Unable to register cu\w+ factory|computation placer already registered)"
)


def _dropped(line, level, has_gpu):
    return (
        (level >= 1 and _INFO.search(line) is not None)
        or (level >= 2 and line.startswith(_ABSL_NOTICE))
        or (level >= 1 and not has_gpu and _CUINIT.search(line) is not None)
        or (level >= 1 and not has_gpu and _CUDA_REGISTRATION.search(line) is not None)
    )


def _level():
    try:
        return int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0"))
    except ValueError:
        return 0


def _has_nvidia_device():
    return os.path.exists("/dev/nvidiactl") or os.path.exists("/dev/dxg")


@contextmanager
def _stderr_filtered(level, has_gpu):
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no file descriptor 2: nothing to filter
        yield
        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            try:
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode(errors="replace").splitlines(keepends=True)
            kept = "".join(line for line in lines if not _dropped(line, level, has_gpu))
            if kept:
                os.write(2, kept.encode())


def import_tensorflow():
    """Import TensorFlow and Keras, and list the devices (where the cuInit
    line comes from), with the start-up lines filtered."""
    if "tensorflow" in sys.modules:
        return
    with _stderr_filtered(_level(), _has_nvidia_device()):
        import keras  # noqa: F401
        import tensorflow as tf

        tf.config.list_physical_devices()
