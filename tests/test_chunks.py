"""Training from a numpy.memmap read a chunk at a time (skae._chunks)."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from sklearn.decomposition import PCA

from skae import (
    ContractiveAutoencoder,
    ConvAutoencoder,
    DenoisingAutoencoder,
    DenseAutoencoder,
    StackedAutoencoder,
    VariationalAutoencoder,
    _chunks,
)
from skae._chunks import ChunkedRows


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 16 KiB: 64 digits, several chunks to a fit."""
    monkeypatch.setattr(_chunks, "CHUNK_BYTES", 16 * 2**10)


def on_disk(tmp_path, X, name="X.dat", dtype=np.float32, offset=0):
    """X written to a file and opened read-only as a memmap."""
    path = tmp_path / name
    with open(path, "wb") as file:
        file.write(b"\0" * offset)
        file.write(np.ascontiguousarray(X, dtype=dtype).tobytes())
    return np.memmap(path, dtype, "r", offset=offset, shape=X.shape)


def test_a_memmap_trains_as_well_as_the_array_in_memory(tmp_path, small_chunks, digits):
    X_train, X_test, _, _ = digits
    X_disk = on_disk(tmp_path, X_train)
    assert len(list(ChunkedRows(X_disk, X_disk.shape[1:], 0, 1).chunks())) > 10
    in_memory = DenseAutoencoder(16, epochs=20, tol=None, random_state=0).fit(X_train)
    from_disk = DenseAutoencoder(16, epochs=20, tol=None, random_state=0).fit(X_disk)
    assert from_disk.n_features_in_ == 64 and len(from_disk.history_["loss"]) == 20
    pca = PCA(16).fit(X_train)
    pca_error = np.mean((X_test - pca.inverse_transform(pca.transform(X_test))) ** 2)
    assert -from_disk.score(X_test) < pca_error
    assert -from_disk.score(X_test) < 1.25 * -in_memory.score(X_test)
    # seeded: the same chunks in the same order, the same model
    again = DenseAutoencoder(16, epochs=20, tol=None, random_state=0).fit(X_disk)
    np.testing.assert_array_equal(again.transform(X_test), from_disk.transform(X_test))
    np.testing.assert_allclose(from_disk.fit_transform(X_disk), from_disk.transform(X_train), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    "estimator",
    [
        DenoisingAutoencoder(8, epochs=2),
        ContractiveAutoencoder(8, epochs=2),
        ConvAutoencoder(image_shape=(8, 8), epochs=2),
        StackedAutoencoder([("a", DenseAutoencoder(16, epochs=2)), ("b", DenseAutoencoder(8, epochs=2))], epochs=2),
        VariationalAutoencoder(4, hidden_layer_sizes=(16,), epochs=2),
    ],
    ids=lambda e: type(e).__name__,
)
def test_every_family_fits_a_memmap(tmp_path, small_chunks, small_digits, estimator):
    X_train, X_test = small_digits
    fitted = estimator.set_params(random_state=0).fit(on_disk(tmp_path, X_train))
    assert fitted.transform(X_test).shape == (len(X_test), fitted.n_components_)
    assert np.isfinite(fitted.score(X_test))


def test_rows_are_read_from_where_the_memmap_starts(tmp_path, small_chunks):
    X = np.arange(300 * 7, dtype=np.float64).reshape(300, 7)
    with_offset = on_disk(tmp_path, X, dtype=np.float64, offset=24)
    for view in [with_offset, with_offset[101:], with_offset[:, ::2], with_offset[::3]]:
        rows = ChunkedRows(view, view.shape[1:], 0, 1)
        np.testing.assert_array_equal(rows[5:40], np.asarray(view[5:40], dtype=np.float32))
        np.testing.assert_array_equal(np.concatenate(list(rows.chunks())), np.asarray(view, dtype=np.float32))
    assert _chunks._file_offset(with_offset[101:]) == 24 + 101 * 7 * 8  # read from the file
    assert _chunks._file_offset(with_offset[:, ::2]) is None  # rows not contiguous: read through the mapping
    changed = np.memmap(with_offset.filename, np.float64, "c", offset=24, shape=X.shape)
    changed[0, 0] = -1.0  # a change the file does not hold
    assert _chunks._file_offset(changed) is None
    assert ChunkedRows(changed, (7,), 0, 1)[0:1][0, 0] == -1.0


def test_bad_memmaps_are_refused_before_training(tmp_path, small_chunks, small_digits):
    X_train, _ = small_digits
    X_nan = X_train.copy()
    X_nan[-1, 3] = np.nan  # in the last chunk
    with pytest.raises(ValueError, match="NaN"):
        DenseAutoencoder(4, epochs=1).fit(on_disk(tmp_path, X_nan, "nan.dat"))
    huge = on_disk(tmp_path, np.full((3, 4), 1e39), "huge.dat", dtype=np.float64)
    with pytest.raises(ValueError, match="float32"):
        DenseAutoencoder(2, epochs=1).fit(huge)
    text = np.memmap(tmp_path / "text.dat", "S3", "w+", shape=(4, 2))
    with pytest.raises(ValueError, match="numeric"):
        DenseAutoencoder(2, epochs=1).fit(text)
    with pytest.raises(ValueError, match="early_stopping"):
        DenseAutoencoder(4, early_stopping=True).fit(on_disk(tmp_path, X_train))


def test_partial_fit_of_memmap_chunks_keeps_the_model_on_a_wrong_width(tmp_path, small_chunks, small_digits):
    X_train, X_test = small_digits
    model = DenseAutoencoder(8, random_state=0)
    for part in np.array_split(X_train, 3):  # one epoch over three files
        model.partial_fit(on_disk(tmp_path, part, f"part{len(part)}-{part[0, 10]}.dat"))
    codes = model.transform(X_test)
    with pytest.raises(ValueError, match="64 features"):
        model.partial_fit(on_disk(tmp_path, X_train[:, :10], "narrow.dat"))
    np.testing.assert_array_equal(model.transform(X_test), codes)
    assert len(model.history_["loss"]) == 3


def test_resident_memory_is_bounded_by_the_chunks_not_the_data(tmp_path):
    """A seeded fit of a 191 MB memmap, read in chunks of 4 MB, in a fresh
    process grows its peak resident memory by less than half the data; so
    does a seeded fit of the same rows in memory, which TensorFlow copied
    three times (Linux: the peak is reset through /proc)."""
    path = tmp_path / "big.dat"
    rows = np.random.default_rng(0).random((50_000, 1000), dtype=np.float32)
    rows.tofile(path)
    del rows
    script = textwrap.dedent(f"""
        import sys
        import numpy as np
        from skae import DenseAutoencoder, _chunks
        def memory(field):
            with open("/proc/self/status") as status:
                return next(int(line.split()[1]) for line in status if line.startswith(field)) / 1024
        _chunks.CHUNK_BYTES = 4 * 2**20
        X = np.memmap({str(path)!r}, np.float32, "r", shape=(50_000, 1000))
        DenseAutoencoder(4, epochs=1, batch_size=256, random_state=0).fit(X[:512])  # TensorFlow warmed
        X = X if sys.argv[1] == "disk" else np.array(X)
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")  # the peak resident memory starts again from the present one
        before = memory("VmRSS:")
        DenseAutoencoder(4, epochs=1, batch_size=256, random_state=0).fit(X)
        print(memory("VmHWM:") - before)
    """)
    grown = {
        where: float(subprocess.run([sys.executable, "-c", script, where], capture_output=True, text=True,
                                    check=True).stdout.split()[-1])
        for where in ("disk", "memory")
    }  # fmt: skip
    data_mb = 50_000 * 1000 * 4 / 2**20
    # TensorFlow 2.16 keeps a little more in flight: 0.51 of the data on disk
    assert grown["disk"] < 0.6 * data_mb and grown["memory"] < 0.6 * data_mb, grown


def test_a_large_array_is_fed_from_numpy_and_trains_as_well(monkeypatch, digits):
    from skae import _stream

    X_train, X_test, _, _ = digits
    monkeypatch.setattr(_stream, "TENSOR_BYTES", 1024)  # digits count as large
    fed = [DenseAutoencoder(16, epochs=20, tol=None, random_state=0).fit(X_train) for _ in range(2)]
    np.testing.assert_array_equal(fed[0].transform(X_test), fed[1].transform(X_test))
    pca = PCA(16).fit(X_train)
    assert -fed[0].score(X_test) < np.mean((X_test - pca.inverse_transform(pca.transform(X_test))) ** 2)
