"""skae's speed, as ratios against references run in the same process.

    python benchmarks/run.py            # everything (about 5 minutes on 2 cores)
    python benchmarks/run.py --quick    # smaller data, for a smoke run

(a) fit: skae's fit time over a raw Keras fit of the same architecture,
    epochs and batch size (Keras's default compile, and with skae's
    steps_per_execution), and the default DenseAutoencoder on data of MNIST's
    size (60 000 x 784).
(b) transform: one-row and 10 000-row transform of a 784-512-256-30 encoder,
    against PCA.transform and keras.Model.predict.
(c) the contractive penalty: time per epoch of ContractiveAutoencoder over
    DenseAutoencoder, same network, for 64-128-8 and 784-256-32 encoders.

The data are digits from scikit-learn, upsampled to 28 x 28 and shifted at
random: no download.
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
from scipy.ndimage import shift, zoom
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA

from skae import ContractiveAutoencoder, DenseAutoencoder


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


def raw_keras_autoencoder(n_features, hidden, k, steps_per_execution=1):
    inputs = keras.Input((n_features,))
    h = inputs
    for units in hidden:
        h = keras.layers.Dense(units, activation="relu")(h)
    h = keras.layers.Dense(k)(h)
    for units in reversed(hidden):
        h = keras.layers.Dense(units, activation="relu")(h)
    model = keras.Model(inputs, keras.layers.Dense(n_features, activation="sigmoid")(h))
    model.compile(optimizer="adam", loss="mse", steps_per_execution=steps_per_execution)
    return model


def bench_fit(X, hidden, k, epochs, batch_size):
    def skae_fit():
        DenseAutoencoder(k, hidden_layer_sizes=hidden, epochs=epochs, batch_size=batch_size).fit(X)

    def keras_fit(steps):
        raw_keras_autoencoder(X.shape[1], hidden, k, steps).fit(X, X, epochs=epochs, batch_size=batch_size, verbose=0)

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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller data, for a smoke run")
    quick = parser.parse_args().quick

    X = mnist_like(6_000 if quick else 60_000)
    bench_fit(X[:10_000], hidden=(128,), k=16, epochs=2 if quick else 5, batch_size=32)
    bench_default_fit(X, k=16)
    bench_transform(X, n_big=1_000 if quick else 10_000)
    bench_contractive(load_digits().data / 16, X[:10_000], epochs=3 if quick else 6)


if __name__ == "__main__":
    main()
