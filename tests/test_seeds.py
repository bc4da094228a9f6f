"""skae._seeds: every layer gets its seed from random_state, and a seeded fit is reproducible."""

import subprocess
import sys
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
from numpy.testing import assert_array_equal

from skae import (
    AutoencoderClassifier,
    ConvAutoencoder,
    DenoisingAutoencoder,
    DenseAutoencoder,
    _seeds,
)


def initializer_seeds(model):
    """The seeds of every random initializer, dropout and corruption layer in ``model``."""
    seeds = []
    for layer in model._flatten_layers(include_self=False):
        for name in ("kernel_initializer", "depthwise_initializer"):
            initializer = getattr(layer, name, None)
            if initializer is not None and "seed" in initializer.get_config():
                seeds.append(initializer.get_config()["seed"])
        if "seed" in layer.get_config():
            seeds.append(layer.get_config()["seed"])
    return seeds


@pytest.mark.parametrize(
    "make",
    [
        lambda **kw: DenseAutoencoder(4, hidden_layer_sizes=(16,), dropout=0.1, **kw),
        lambda **kw: DenseAutoencoder(4, hidden_layer_sizes=(16,), tied_weights=True, **kw),
        lambda **kw: DenseAutoencoder(4, hidden_layer_sizes=(16,), linear_path=False, **kw),
        lambda **kw: DenoisingAutoencoder(4, hidden_layer_sizes=(16,), **kw),
        lambda **kw: ConvAutoencoder(4, image_shape=(8, 8), filters=(4, 2), upsampling="transposed", **kw),
        lambda **kw: AutoencoderClassifier(DenseAutoencoder(4), hidden_layer_sizes=(8,), **kw),
    ],
    ids=["dense", "tied", "no_linear_path", "denoising", "conv", "classifier"],
)
def test_every_random_layer_skae_builds_gets_a_seed_of_its_own(small_digits, make):
    X = small_digits[0][:60]
    y = np.arange(len(X)) % 3
    seeded = make(epochs=1, random_state=0).fit(X, y).model_
    seeds = initializer_seeds(seeded)
    assert len(seeds) >= 2 and all(isinstance(seed, int) for seed in seeds)
    if not isinstance(make(), AutoencoderClassifier):  # whose head draws from the seed its autoencoder drew from
        assert len(set(seeds)) == len(seeds), "each layer its own seed"
    assert initializer_seeds(make(epochs=1, random_state=0).fit(X, y).model_) == seeds
    assert set(initializer_seeds(make(epochs=1).fit(X, y).model_)) == {None}  # unseeded: Keras draws


def test_nothing_of_keras_is_patched_by_importing_skae_or_fitting(small_digits, tmp_path):
    X = small_digits[0][:60]
    np.save(tmp_path / "X.npy", X)
    code = (
        "import random, sys, numpy as np; from keras.src.random import seed_generator; "
        "import skae; X = np.load(sys.argv[1]); skae.DenseAutoencoder(2, epochs=1, random_state=0).fit(X); "
        "assert seed_generator.python_random is random, seed_generator.python_random"
    )
    subprocess.run([sys.executable, "-c", code, tmp_path / "X.npy"], check=True)


def test_layer_seeds_are_drawn_only_inside_a_seeded_block():
    assert _seeds.layer_seed() is None
    with _seeds.seeded(3):
        first = [_seeds.layer_seed() for _ in range(3)]
        with _seeds.seeded(4):
            inner = _seeds.layer_seed()
        after_inner = _seeds.layer_seed()
    with _seeds.seeded(3):
        again = [_seeds.layer_seed() for _ in range(4)]
    assert first == again[:3] and after_inner == again[3] and inner not in first
    assert _seeds.layer_seed() is None


def test_same_random_state_gives_identical_transform(small_digits):
    X_train, X_test = small_digits
    params = dict(n_components=4, hidden_layer_sizes=(16,), dropout=0.1, epochs=3)
    first = DenseAutoencoder(random_state=7, **params).fit(X_train).transform(X_test)
    second = DenseAutoencoder(random_state=7, **params).fit(X_train).transform(X_test)
    other = DenseAutoencoder(random_state=8, **params).fit(X_train).transform(X_test)
    assert_array_equal(first, second)
    assert not np.allclose(first, other)


def test_random_state_is_self_contained(small_digits):
    """The same random_state gives the same model whatever global seeds the user set."""
    X_train, X_test = small_digits
    params = dict(n_components=4, hidden_layer_sizes=(16,), dropout=0.1, epochs=3, random_state=0)
    reference = DenseAutoencoder(**params).fit(X_train).transform(X_test)
    tf.random.set_seed(123)
    assert_array_equal(DenseAutoencoder(**params).fit(X_train).transform(X_test), reference)
    keras.utils.set_random_seed(5)
    assert_array_equal(DenseAutoencoder(**params).fit(X_train).transform(X_test), reference)
    tf.random.set_seed(None)


def test_seeded_fits_in_threads_give_the_models_they_give_alone(small_digits):
    # As in a Dask worker or joblib's threading backend: fits in threads, and
    # another thread drawing from Python's global random state meanwhile.
    # Each fit draws its layers' seeds from its own seed, in its own thread.
    import random
    import threading
    from concurrent.futures import ThreadPoolExecutor

    X_train, X_test = small_digits

    def codes(seed):
        params = dict(n_components=4, hidden_layer_sizes=(16,), dropout=0.1, epochs=2, random_state=seed)
        return DenseAutoencoder(**params).fit(X_train).transform(X_test)

    alone = [codes(seed) for seed in range(4)]
    stop = threading.Event()

    def draw():
        while not stop.is_set():
            random.random()

    drawer = threading.Thread(target=draw)
    drawer.start()
    try:
        with ThreadPoolExecutor(4) as pool:
            in_threads = list(pool.map(codes, range(4)))
    finally:
        stop.set()
        drawer.join()
    for expected, got in zip(alone, in_threads):
        assert_array_equal(got, expected)


@pytest.mark.parametrize(
    "make",
    [
        lambda **kw: DenseAutoencoder(4, hidden_layer_sizes=(16,), dropout=0.1, **kw),
        lambda **kw: DenoisingAutoencoder(4, hidden_layer_sizes=(16,), **kw),
        lambda **kw: ConvAutoencoder(image_shape=(8, 8), filters=(4, 2), **kw),
    ],
    ids=["dense", "denoising", "conv"],
)
def test_a_seeded_fit_trains_with_xla_when_asked_and_is_reproducible(small_digits, make):
    # Keras turns XLA off under op determinism, which a seeded fit turns on:
    # where the user asks for XLA, skae leaves determinism off instead.
    X_train, X_test = small_digits
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first, second = (make(epochs=2, random_state=0, compile__jit_compile=True).fit(X_train) for _ in range(2))
    assert not [w for w in caught if "jit_compile" in str(w.message)]  # Keras warns when it turns XLA off
    assert first.model_.jit_compile is True
    assert_array_equal(first.transform(X_test), second.transform(X_test))
    assert make(epochs=1, random_state=0).fit(X_train).model_.jit_compile is False  # not asked: off on a CPU


def test_a_seeded_xla_fit_gives_the_same_model_in_another_process(small_digits, tmp_path):
    # What a user who refits elsewhere sees: the compiled step is not only
    # reproducible within one process. Both fits run in fresh processes: a
    # pytest worker that has already compiled other XLA programs may round the
    # same step differently in the last float32 place (seen with the lowest
    # TensorFlow we support), which is not what a user refitting sees.
    import subprocess
    import sys

    X_train, X_test = small_digits
    np.save(tmp_path / "X.npy", np.concatenate([X_train, X_test]))
    code = (
        "import sys, numpy as np; from skae import DenseAutoencoder; X = np.load(sys.argv[1]); "
        "ae = DenseAutoencoder(4, hidden_layer_sizes=(16,), dropout=0.1, epochs=2, random_state=0, "
        f"compile__jit_compile=True).fit(X[:{len(X_train)}]); assert ae.model_.jit_compile is True; "
        f"np.save(sys.argv[2], ae.transform(X[{len(X_train)}:]))"
    )
    for name in ("first.npy", "second.npy"):
        subprocess.run([sys.executable, "-c", code, tmp_path / "X.npy", tmp_path / name], check=True)
    first, second = np.load(tmp_path / "first.npy"), np.load(tmp_path / "second.npy")
    assert first.shape == (len(X_test), 4)
    assert np.ptp(first, axis=0).min() > 0
    assert_array_equal(first, second)


def test_seeded_fit_leaves_global_random_state_alone(small_digits):
    import random

    X_train, _ = small_digits
    np.random.seed(123)
    random.seed(123)
    expected = np.random.rand(), random.random()
    np.random.seed(123)
    random.seed(123)
    DenseAutoencoder(epochs=1, random_state=0).fit(X_train)
    assert (np.random.rand(), random.random()) == expected
    # TensorFlow's global seed is as the user left it: unset (another test in this
    # process may have set it), or theirs
    tf.random.set_seed(None)
    DenseAutoencoder(epochs=1, random_state=0, fit__shuffle=True).fit(X_train)
    assert _seeds.global_seed() is None
    tf.random.set_seed(7)
    DenseAutoencoder(epochs=1, random_state=0).fit(X_train)
    assert _seeds.global_seed() == 7
    tf.random.set_seed(None)
    tf.random.set_seed(None)
