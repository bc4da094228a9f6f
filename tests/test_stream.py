"""skae._stream: the batches a fit reads."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from skae import _stream


def passes(stream, n_batches, n_passes):
    rows = [batch.numpy()[:, 0].astype(int) for batch, _ in stream.take(n_batches * n_passes)]
    return [np.concatenate(rows[i * n_batches : (i + 1) * n_batches]) for i in range(n_passes)], rows


@pytest.mark.parametrize("large", [False, True], ids=["tensor", "from_numpy"])
def test_each_pass_visits_every_row_once_in_a_new_order(monkeypatch, large):
    if large:
        monkeypatch.setattr(_stream, "TENSOR_BYTES", 16)  # fed from numpy by a generator
    X = np.arange(10, dtype=np.float32)[:, None].repeat(3, axis=1)
    orders, rows = passes(_stream.batches(X, X, 4, seed=0, endless=True), 3, 3)
    assert [len(batch) for batch in rows[:3]] == [4, 4, 2]  # the last batch short, as Keras batches
    for order in orders:
        assert sorted(order) == list(range(10))
    assert not np.array_equal(orders[0], orders[1])
    again, _ = passes(_stream.batches(X, X, 4, seed=0, endless=True), 3, 3)
    other, _ = passes(_stream.batches(X, X, 4, seed=1, endless=True), 3, 3)
    assert_array_equal(np.concatenate(again), np.concatenate(orders))
    assert not np.array_equal(np.concatenate(other), np.concatenate(orders))
    in_order, _ = passes(_stream.batches(X, X, 4, shuffle=False), 3, 1)
    assert_array_equal(in_order[0], np.arange(10))


def test_the_target_follows_its_rows():
    X = np.arange(12, dtype=np.float32).reshape(6, 2)
    y = np.arange(6)
    for x, target in _stream.batches(X, y, 4, seed=0):
        assert_array_equal(x.numpy()[:, 0] // 2, target.numpy())


def test_a_float32_array_is_shared_and_others_are_copied_once():
    buffer = np.zeros(32 * 4 + _stream.TENSOR_ALIGNMENT, np.uint8)
    start = -buffer.ctypes.data % _stream.TENSOR_ALIGNMENT
    aligned = buffer[start : start + 32 * 4].view(np.float32).reshape(8, 4)
    tensor = _stream.as_tensor(aligned)
    aligned[0, 0] = 5.0
    assert tensor.numpy()[0, 0] == 5.0, "one buffer: DLPack shares it"
    read_only = np.zeros((8, 4), np.float32)
    read_only.flags.writeable = False
    copied = _stream.as_tensor(read_only)
    assert copied.dtype.name == "float32" and copied.shape == (8, 4)
    assert _stream.as_tensor(np.ones((2, 2))).dtype.name == "float32"  # float64 as Keras's float type
