"""Aligning a write source to its target: by labels, right to left, broadcasting size-1 dimensions.

Every case runs on tensortrio and on tensorstore, which must agree on the
values written or on the error.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import tensorstore

import tensortrio as tt

BOTH = pytest.mark.parametrize("lib", [tt, tensorstore], ids=["tensortrio", "tensorstore"])


def labeled(lib: Any, array: Any, labels: list[str] | None, origin: int = 0) -> Any:
    store = lib.array(np.asarray(array, np.float64))
    if labels is not None:
        store = store[lib.d[:].label[labels]]
    return store[lib.d[:].translate_to[origin]] if origin else store


@BOTH
@pytest.mark.parametrize(
    ("target", "source", "expected"),
    [
        # Labels match dimensions whatever their order.
        ((["a", "b"], 0), (np.arange(6).reshape(3, 2), ["b", "a"]), [[0, 2, 4], [1, 3, 5]]),
        # A labeled dimension the target lacks has size 1: it broadcasts away.
        ((["a", "b"], 0), (np.arange(3).reshape(1, 3), ["x", "b"]), [[0, 1, 2], [0, 1, 2]]),
        ((["a", "b"], 0), (np.arange(6).reshape(2, 1, 3), ["a", "x", "b"]), [[0, 1, 2], [3, 4, 5]]),
        # A missing target dimension is broadcast over.
        ((["a", "b"], 0), (np.arange(2), ["a"]), [[0, 0, 0], [1, 1, 1]]),
        # Unlabeled dimensions match the unlabeled ones of the other, right to left.
        ((["a", ""], 0), (np.arange(6).reshape(3, 2), ["", "a"]), [[0, 2, 4], [1, 3, 5]]),
        ((["a", ""], 0), (np.arange(3), [""]), [[0, 1, 2], [0, 1, 2]]),
        # If either side is unlabeled, only positions count; origins never do.
        ((["a", "b"], 0), (np.arange(6).reshape(2, 3), None), [[0, 1, 2], [3, 4, 5]]),
        ((None, 5), (np.arange(6).reshape(2, 3), ["x", "y"]), [[0, 1, 2], [3, 4, 5]]),
    ],
)
def test_sources_align_to_the_target(lib: Any, target: Any, source: Any, expected: Any) -> None:
    labels, origin = target
    store = labeled(lib, np.zeros((2, 3)), labels, origin)
    store.write(labeled(lib, *source)).result()
    assert store.read().result().tolist() == expected


@BOTH
@pytest.mark.parametrize(
    ("target", "source", "message"),
    [
        (
            ["a", "b"],
            (np.zeros(2), ["c"]),
            r'unmatched source dimension 0 "c": \[0, 2\) does not have a size of 1',
        ),
        (
            ["a", "b"],
            (np.zeros((2, 2)), ["a", "b"]),
            r'source dimension 1 "b": \[0, 2\) mismatch with target dimension 1 "b": \[0, 3\)',
        ),
        (
            ["a", ""],
            (np.zeros((4, 3)), ["", "b"]),
            r"source dimension 0 \[0, 4\) mismatch with target dimension 1 \[0, 3\), "
            r'unmatched source dimension 1 "b": \[0, 3\) does not have a size of 1',
        ),
        (None, (np.zeros((2, 2, 3)), None), r"unmatched source dimension 0 \[0, 2\) does not have a size of 1"),
    ],
)
def test_misaligned_sources_fail_the_write_naming_each_dimension(
    lib: Any, target: Any, source: Any, message: str
) -> None:
    store = labeled(lib, np.zeros((2, 3)), target)
    futures = store.write(labeled(lib, *source))
    with pytest.raises(ValueError, match=f"^Error aligning dimensions: {message}$"):
        futures.result()
    assert store.read().result().tolist() == [[0, 0, 0], [0, 0, 0]]


def test_a_labeled_source_aligns_in_a_transaction_too() -> None:
    store = tt.open(
        {"driver": "zarr", "kvstore": {"driver": "memory"}},
        create=True,
        dtype=tt.float64,
        shape=[2, 3],
    ).result()[tt.d[:].label["a", "b"]]
    txn = tt.Transaction()
    store.with_transaction(txn).write(labeled(tt, np.arange(6).reshape(3, 2), ["b", "a"])).result()
    txn.commit_sync()
    assert store.read().result().tolist() == [[0, 2, 4], [1, 3, 5]]
