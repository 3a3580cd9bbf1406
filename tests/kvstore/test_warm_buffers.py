"""Pooled large buffers: reused only once nothing references them, never more than the limit kept."""

from __future__ import annotations

import gc
import threading

import numpy as np
import pytest

from tensortrio.drivers.kvstore import warm_buffers
from tensortrio.drivers.kvstore.value_buffer import array_value, join_values, new_array, new_buffer

MIB = 1 << 20


def address(buffer: memoryview) -> int:
    return int(np.frombuffer(buffer, np.uint8).ctypes.data)


pytestmark = pytest.mark.usefixtures("empty_warm_pool")


def test_a_block_comes_back_only_when_its_last_view_is_gone() -> None:
    first = warm_buffers.take(3 * MIB)
    assert first.nbytes == 3 * MIB
    assert not first.readonly
    where = address(first)
    views = [
        np.frombuffer(first, np.uint16)[10:20].reshape(2, 5),
        first[5:9],
        first.toreadonly(),
        memoryview(np.frombuffer(first, np.uint8)),
    ]
    del first
    for _ in range(len(views)):
        other = warm_buffers.take(3 * MIB)
        assert address(other) != where  # still in use through a view
        del other
        views.pop()
    gc.collect()
    again = warm_buffers.take(3 * MIB)
    assert address(again) == where


def test_sizes_share_a_block_within_an_eighth() -> None:
    where = address(warm_buffers.take(2 * MIB + 1000))  # the lease dies at once
    assert address(warm_buffers.take(2 * MIB + 200_000)) == where
    assert address(warm_buffers.take(3 * MIB)) != where


def test_no_more_than_the_limit_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(warm_buffers, "POOL_LIMIT_BYTES", 4 * MIB)
    held = [warm_buffers.take(MIB) for _ in range(6)]
    del held
    assert warm_buffers.free_bytes() == 4 * MIB


def test_a_full_pool_makes_room_for_the_size_in_use(monkeypatch: pytest.MonkeyPatch) -> None:
    # Full of one workload's blocks, the pool still keeps the next workload's:
    # the blocks given back longest ago leave first.
    monkeypatch.setattr(warm_buffers, "POOL_LIMIT_BYTES", 4 * MIB)
    old = [warm_buffers.take(MIB) for _ in range(4)]
    newest_old = address(old[-1])
    while old:
        old.pop(0)  # given back in the order taken
    assert warm_buffers.free_bytes() == 4 * MIB
    where = address(warm_buffers.take(2 * MIB))  # given back at once
    assert warm_buffers.free_bytes() == 4 * MIB
    assert address(warm_buffers.take(2 * MIB)) == where
    assert address(warm_buffers.take(MIB)) == newest_old


def test_a_block_larger_than_the_pool_leaves_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(warm_buffers, "POOL_LIMIT_BYTES", 4 * MIB)
    where = address(warm_buffers.take(MIB))
    warm_buffers.take(5 * MIB)
    assert warm_buffers.free_bytes() == MIB
    assert address(warm_buffers.take(MIB)) == where


def test_a_block_released_in_another_thread_is_reused() -> None:
    box = [warm_buffers.take(2 * MIB)]
    where = address(box[0])
    thread = threading.Thread(target=box.clear)
    thread.start()
    thread.join()
    assert address(warm_buffers.take(2 * MIB)) == where


def test_values_built_from_pooled_buffers_keep_their_bytes() -> None:
    # A value outliving its maker must never see its block handed out again.
    array = np.arange(5 * MIB, dtype=np.uint16).reshape(5120, 1024)[:, ::2]  # not contiguous
    value = array_value(array)  # 5 MiB: copied into a pooled buffer
    joined = join_values([b"a" * (3 * MIB), value])
    assert type(value) is memoryview
    assert type(joined) is memoryview
    for size in (5 * MIB, 8 * MIB) * 2:
        scribble = new_buffer(size)
        np.frombuffer(scribble, np.uint8)[:] = 0xFF
        del scribble
    np.testing.assert_array_equal(np.frombuffer(value, np.uint16).reshape(array.shape), array)
    assert bytes(joined[: 3 * MIB]) == b"a" * (3 * MIB)
    assert bytes(joined[3 * MIB :]) == bytes(value)
    assert value.readonly
    assert joined.readonly


def test_new_array_is_pooled_when_large_and_plain_otherwise() -> None:
    large = new_array((1024, 1024), np.float32)
    assert large.shape == (1024, 1024)
    assert large.flags.c_contiguous
    assert large.flags.writeable
    assert not large.flags.owndata  # a view of a pooled block
    small = new_array(100, np.uint8)
    assert small.flags.owndata
    objects = new_array((1024, 1024), object)  # objects cannot live in a raw buffer
    assert objects.flags.owndata


@pytest.mark.parametrize("size", [MIB, MIB + 1, 2 * MIB - 1, 2 * MIB + 1, 3 * MIB + 12345, 7 * MIB])
def test_a_block_is_at_most_an_eighth_larger_than_asked(size: int) -> None:
    block = warm_buffers._size_class(size)
    assert size <= block <= size * 9 / 8


def test_a_forked_child_gets_a_fresh_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    # A child forked while another thread held the pool's lock must not wait for it.
    monkeypatch.setattr(warm_buffers, "_lock", warm_buffers._lock)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with warm_buffers._lock:
            held.set()
            release.wait()

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait()
    try:
        warm_buffers._reset_after_fork()  # what os.register_at_fork runs in a child
        assert warm_buffers.take(MIB).nbytes == MIB
    finally:
        release.set()
        thread.join()
