"""The file driver starts a large durable value's writeback piece by piece, before its fsync."""

from __future__ import annotations

import ctypes
import errno
import os
import sys
from typing import TYPE_CHECKING

import pytest

from tensortrio.drivers.kvstore import file_io, file_writeback
from tensortrio.drivers.kvstore.generation import TimestampedStorageGeneration
from tensortrio.drivers.kvstore.operations import WriteRequest

if TYPE_CHECKING:
    from pathlib import Path

PIECE = file_writeback.PIECE_BYTES


def _value(nbytes: int) -> bytes:
    return bytes(i % 251 for i in range(nbytes))


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """The (offset, nbytes) ranges whose writeback ``file_io`` starts, recorded (and started)."""
    calls: list[tuple[int, int]] = []

    def record(fd: int, offset: int, nbytes: int) -> None:
        calls.append((offset, nbytes))
        file_writeback.start_writeback(fd, offset, nbytes)

    monkeypatch.setattr(file_io, "WRITEBACK_AVAILABLE", True)
    monkeypatch.setattr(file_io, "start_writeback", record)
    return calls


@pytest.mark.parametrize(
    ("nbytes", "ranges"),
    [
        (PIECE + 1, [(0, PIECE), (PIECE, 1)]),
        (3 * PIECE + 5, [(0, PIECE), (PIECE, PIECE), (2 * PIECE, PIECE), (3 * PIECE, 5)]),
    ],
)
def test_a_large_synced_value_is_written_in_pieces_each_started_as_written(
    tmp_path: Path, started: list[tuple[int, int]], nbytes: int, ranges: list[tuple[int, int]]
) -> None:
    key = os.fsencode(tmp_path / "k")
    value = _value(nbytes)
    (outcome,) = file_io.run_batch([WriteRequest(key, memoryview(value))], sync=True)
    assert isinstance(outcome, TimestampedStorageGeneration)
    assert started == ranges
    assert (tmp_path / "k").read_bytes() == value
    assert os.listdir(tmp_path) == ["k"]


@pytest.mark.parametrize(("nbytes", "sync"), [(PIECE, True), (10, True), (3 * PIECE, False)])
def test_small_or_unsynced_values_start_no_writeback(
    tmp_path: Path, started: list[tuple[int, int]], nbytes: int, sync: bool
) -> None:
    key = os.fsencode(tmp_path / "k")
    value = _value(nbytes)
    file_io.run_batch([WriteRequest(key, value)], sync=sync)
    assert started == []
    assert (tmp_path / "k").read_bytes() == value


def test_without_sync_file_range_a_large_value_is_written_whole(
    tmp_path: Path, started: list[tuple[int, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(file_io, "WRITEBACK_AVAILABLE", False)
    value = _value(2 * PIECE + 3)
    file_io.run_batch([WriteRequest(os.fsencode(tmp_path / "k"), value)], sync=True)
    assert started == []
    assert (tmp_path / "k").read_bytes() == value


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sync_file_range is Linux's")
def test_sync_file_range_is_found_on_linux() -> None:
    assert file_writeback.AVAILABLE


@pytest.mark.skipif(not file_writeback.AVAILABLE, reason="no sync_file_range here")
def test_a_failing_start_is_ignored() -> None:
    read_end, write_end = os.pipe()
    try:
        ctypes.set_errno(0)
        file_writeback.start_writeback(write_end, 0, 1)  # returns, though refused
        assert ctypes.get_errno() == errno.ESPIPE
    finally:
        os.close(read_end)
        os.close(write_end)
