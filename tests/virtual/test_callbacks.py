"""Where virtual_chunked callbacks run, nested reads without deadlock, cancellation, caching, pickling."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import cloudpickle
import numpy as np
import pytest
import sniffio
import trio

import tensortrio as ts
from tensortrio.runtime._runtime_thread import in_runtime_thread

Stamp = ts.KvStore.TimestampedStorageGeneration


def _where() -> tuple[str | None, threading.Thread, bool]:
    try:
        library: str | None = sniffio.current_async_library()
    except sniffio.AsyncLibraryNotFoundError:
        library = None
    return library, threading.current_thread(), in_runtime_thread()


async def test_coroutine_callback_runs_in_the_calling_trio_run() -> None:
    seen: list[Any] = []

    async def read(domain: ts.IndexDomain, array: np.ndarray, params: Any) -> None:
        seen.append(_where())
        await trio.lowlevel.checkpoint()
        array[...] = 7

    t = ts.virtual_chunked(
        read, dtype=ts.int32, shape=[4], chunk_layout=ts.ChunkLayout(read_chunk_shape=[2])
    )
    np.testing.assert_array_equal(await t.read(), [7, 7, 7, 7])
    assert seen == [("trio", threading.current_thread(), False)] * 2


def test_coroutine_callback_runs_on_the_calling_asyncio_loop() -> None:
    seen: list[Any] = []

    async def main() -> np.ndarray:
        async def read(domain: ts.IndexDomain, array: np.ndarray, params: Any) -> None:
            seen.append((*_where(), asyncio.get_running_loop()))
            array[...] = 3

        t = ts.virtual_chunked(read, dtype=ts.uint8, shape=[2, 2])
        result: np.ndarray = await t.read()
        seen.append(asyncio.get_running_loop())
        return result

    np.testing.assert_array_equal(asyncio.run(main()), [[3, 3], [3, 3]])
    loop = seen.pop()
    assert seen == [("asyncio", threading.main_thread(), False, loop)]


def test_coroutine_callback_runs_on_the_loop_given() -> None:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        seen: list[Any] = []

        async def read(domain: ts.IndexDomain, array: np.ndarray, params: Any) -> None:
            seen.append((asyncio.get_running_loop(), threading.current_thread()))
            array[...] = 1

        t = ts.virtual_chunked(read, dtype=ts.float32, shape=[3], loop=loop)
        np.testing.assert_array_equal(t.read().result(timeout=30), [1, 1, 1])
        assert seen == [(loop, thread)]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()


async def test_plain_callbacks_run_in_worker_threads() -> None:
    seen: list[Any] = []

    def read(domain: ts.IndexDomain, array: np.ndarray, params: Any) -> None:
        seen.append(_where())
        array[...] = domain.origin[0]

    def write(domain: ts.IndexDomain, array: np.ndarray, params: Any) -> None:
        seen.append(_where())

    t = ts.virtual_chunked(
        read, write, dtype=ts.int64, shape=[4], chunk_layout=ts.ChunkLayout(read_chunk_shape=[2])
    )
    np.testing.assert_array_equal(await t.read(), [0, 0, 2, 2])
    await t[0:2].write(np.array([5, 6]))
    assert len(seen) == 3
    for library, thread, runtime in seen:
        assert library is None
        assert thread is not threading.current_thread()
        assert not runtime


def test_coroutine_function_without_a_loop_is_rejected() -> None:
    async def read(domain: ts.IndexDomain, array: np.ndarray, params: Any) -> None:
        array[...] = 0

    with pytest.raises(
        ts.InvalidArgumentError,
        match=r"^virtual_chunked: read_function is a coroutine function but there is no event loop",
    ):
        ts.virtual_chunked(read, dtype=ts.int32, shape=[2])


def test_bad_arguments_are_rejected() -> None:
    def read(domain: ts.IndexDomain, array: np.ndarray, params: Any) -> None:
        array[...] = 0

    with pytest.raises(
        ts.InvalidArgumentError, match=r"^virtual_chunked: dtype must be specified$"
    ):
        ts.virtual_chunked(read, shape=[2])
    with pytest.raises(
        ts.InvalidArgumentError, match=r"^virtual_chunked: domain or rank must be specified$"
    ):
        ts.virtual_chunked(read, dtype=ts.int32)
    with pytest.raises(ts.InvalidArgumentError, match=r"^virtual_chunked: specify read_function"):
        ts.virtual_chunked(dtype=ts.int32, shape=[2])
    with pytest.raises(
        TypeError,
        match=r"^virtual_chunked: transaction must be a ts.Transaction or None, got object$",
    ):
        ts.virtual_chunked(read, dtype=ts.int32, shape=[2], transaction=object())


async def _read(store: ts.TensorStore) -> None:
    await store.read()


def _small_context() -> ts.Context:
    return ts.Context({"data_copy_concurrency": {"limit": 1}})


async def test_nested_reads_do_not_deadlock() -> None:
    """TensorStore deadlocks here (issue 253): callbacks that read another store."""
    context = _small_context()

    def inner_read(domain: ts.IndexDomain, array: np.ndarray, params: Any) -> None:
        array[...] = np.arange(domain.inclusive_min[0], domain.exclusive_max[0])

    layout = ts.ChunkLayout(read_chunk_shape=[2])
    inner = ts.virtual_chunked(
        inner_read, dtype=ts.int64, shape=[16], chunk_layout=layout, context=context
    )

    def blocking_read(domain: ts.IndexDomain, array: np.ndarray, params: Any) -> None:
        array[...] = inner[domain].read().result(timeout=60) * 10

    async def awaiting_read(domain: ts.IndexDomain, array: np.ndarray, params: Any) -> None:
        array[...] = (await inner[domain].read()) * 100

    blocking = ts.virtual_chunked(
        blocking_read, dtype=ts.int64, shape=[16], chunk_layout=layout, context=context
    )
    awaiting = ts.virtual_chunked(
        awaiting_read, dtype=ts.int64, shape=[16], chunk_layout=layout, context=context
    )
    with trio.fail_after(60):
        np.testing.assert_array_equal(await blocking.read(), np.arange(16) * 10)
        np.testing.assert_array_equal(await awaiting.read(), np.arange(16) * 100)
        # Both at once, and a blocking callback nested in an awaiting one.
        async with trio.open_nursery() as nursery:
            for store in (blocking, awaiting):
                nursery.start_soon(_read, store)


async def test_cancelling_the_read_cancels_the_callback() -> None:
    started = trio.Event()
    cancelled = trio.Event()

    async def read(domain: ts.IndexDomain, array: np.ndarray, params: Any) -> None:
        started.set()
        try:
            await trio.sleep_forever()
        except trio.Cancelled:
            cancelled.set()
            raise

    t = ts.virtual_chunked(read, dtype=ts.int32, shape=[2])
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_read, t)
            await started.wait()
            nursery.cancel_scope.cancel()
        await cancelled.wait()


def _counting_store(calls: list[bytes], recheck: Any) -> ts.TensorStore:
    def read(
        domain: ts.IndexDomain, array: np.ndarray, params: ts.VirtualChunkedReadParameters
    ) -> Any:
        calls.append(params.if_not_equal)
        # An old time (say, a file's mtime): current as of the read that asked.
        if params.if_not_equal == b"g1":
            return Stamp(b"", 0.0)  # unchanged
        array[...] = 9
        return Stamp(b"g1", 0.0)

    context = ts.Context({"cache_pool": {"total_bytes_limit": 1 << 20}})
    return ts.virtual_chunked(
        read, dtype=ts.int16, shape=[4], context=context, recheck_cached_data=recheck
    )


async def test_cached_chunks_are_revalidated_with_their_generation() -> None:
    calls: list[bytes] = []
    t = _counting_store(calls, True)
    for _ in range(3):
        np.testing.assert_array_equal(await t.read(), [9, 9, 9, 9])
    assert calls == [b"", b"g1", b"g1"]


async def test_cached_chunks_are_not_rechecked_with_recheck_false() -> None:
    calls: list[bytes] = []
    t = _counting_store(calls, False)
    for _ in range(3):
        np.testing.assert_array_equal(await t.read(), [9, 9, 9, 9])
    assert calls == [b""]


async def test_without_a_cache_pool_every_read_computes() -> None:
    calls: list[int] = []

    def read(domain: ts.IndexDomain, array: np.ndarray, params: Any) -> None:
        calls.append(1)
        array[...] = 1

    t = ts.virtual_chunked(read, dtype=ts.int16, shape=[4])
    await t.read()
    await t.read()
    assert len(calls) == 2


async def test_unversioned_content_is_cached_and_written_unconditionally() -> None:
    calls: list[tuple[str, bytes]] = []
    data = np.zeros(4, np.int16)

    def read(domain: ts.IndexDomain, array: np.ndarray, params: Any) -> None:
        calls.append(("r", params.if_not_equal))
        array[...] = data[domain.index_exp]

    def write(domain: ts.IndexDomain, array: np.ndarray, params: Any) -> None:
        calls.append(("w", params.if_equal))
        data[domain.index_exp] = array

    context = ts.Context({"cache_pool": {"total_bytes_limit": 1 << 20}})
    t = ts.virtual_chunked(read, write, dtype=ts.int16, shape=[4], context=context)
    await t[0].write(5)
    await t[1].write(6)
    np.testing.assert_array_equal(await t.read(), [5, 6, 0, 0])
    assert calls == [("r", b""), ("w", b""), ("w", b"")]


def _pickled_read(domain: ts.IndexDomain, array: np.ndarray, params: Any) -> None:
    array[...] = np.arange(domain.inclusive_min[0], domain.exclusive_max[0])


def test_pickling_with_cloudpickle() -> None:
    offset = 40

    def read(domain: ts.IndexDomain, array: np.ndarray, params: Any) -> None:
        _pickled_read(domain, array, params)
        array += offset

    t = ts.virtual_chunked(
        read,
        dtype=ts.int32,
        shape=[6],
        chunk_layout=ts.ChunkLayout(read_chunk_shape=[4]),
    )
    copy = cloudpickle.loads(cloudpickle.dumps(t[2:]))
    assert copy.domain == t[2:].domain
    assert copy.mode == "r"
    np.testing.assert_array_equal(copy.read().result(timeout=60), np.arange(2, 6) + offset)
    assert repr(copy) == "TensorStore(...)"
    with pytest.raises(
        ts.UnimplementedError, match=r'^Error converting object member "driver": JSON'
    ):
        copy.spec()


async def test_callback_errors_surface_as_they_are() -> None:
    def read(domain: ts.IndexDomain, array: np.ndarray, params: Any) -> None:
        raise KeyError(f"no data for {domain}")

    def bad_result(domain: ts.IndexDomain, array: np.ndarray, params: Any) -> Any:
        array[...] = 0
        return 5

    t = ts.virtual_chunked(read, dtype=ts.int32, shape=[2])
    with pytest.raises(KeyError, match=r"no data for \{ \[0, 2\) \}"):
        await t.read()
    bad = ts.virtual_chunked(bad_result, dtype=ts.int32, shape=[2])
    with pytest.raises(
        TypeError,
        match=r"^virtual_chunked: read_function must return a KvStore.TimestampedStorageGeneration or None, got int$",
    ):
        await bad.read()


async def test_edge_chunks_get_the_domain_clipped_to_the_store() -> None:
    seen: list[tuple[str, tuple[int, ...]]] = []

    def read(domain: ts.IndexDomain, array: np.ndarray, params: Any) -> None:
        seen.append((str(domain), array.shape))
        assert array.flags.c_contiguous
        array[...] = domain.origin[0] * 10 + domain.origin[1]

    t = ts.virtual_chunked(
        read,
        dtype=ts.int32,
        domain=ts.IndexDomain(inclusive_min=[2, 3], shape=[3, 4]),
        chunk_layout=ts.ChunkLayout(read_chunk_shape=[2, 3], grid_origin=[2, 3]),
    )
    result = await t.read()
    assert sorted(seen) == [
        ("{ [2, 4), [3, 6) }", (2, 3)),
        ("{ [2, 4), [6, 7) }", (2, 1)),
        ("{ [4, 5), [3, 6) }", (1, 3)),
        ("{ [4, 5), [6, 7) }", (1, 1)),
    ]
    np.testing.assert_array_equal(result, [[23, 23, 23, 26], [23, 23, 23, 26], [43, 43, 43, 46]])
    assert t.schema.chunk_layout.read_chunk.shape == (2, 3)
    np.testing.assert_array_equal(await t[3:5, 5:7].read(), [[23, 26], [43, 46]])


def test_cancelling_an_asyncio_read_cancels_the_callback_task() -> None:
    async def main() -> bool:
        started = asyncio.Event()
        cancelled = asyncio.Event()

        async def read(domain: ts.IndexDomain, array: np.ndarray, params: Any) -> None:
            started.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.set()
                raise

        t = ts.virtual_chunked(read, dtype=ts.int32, shape=[2])
        reader = asyncio.ensure_future(t.read())
        await asyncio.wait_for(started.wait(), 60)
        reader.cancel()
        await asyncio.wait_for(cancelled.wait(), 60)
        try:
            await reader
        except asyncio.CancelledError:
            return True
        return False

    assert asyncio.run(main())


async def test_unpickled_coroutine_callbacks_use_the_loop_running_there() -> None:
    async def read(domain: ts.IndexDomain, array: np.ndarray, params: Any) -> None:
        array[...] = 2 if sniffio.current_async_library() == "asyncio" else 1

    t = ts.virtual_chunked(read, dtype=ts.int8, shape=[2])
    pickled = cloudpickle.dumps(t)

    async def in_asyncio() -> np.ndarray:
        result: np.ndarray = await cloudpickle.loads(pickled).read()
        return result

    # Unpickled in a worker thread running asyncio: the callbacks run on that loop.
    result = await trio.to_thread.run_sync(asyncio.run, in_asyncio())
    np.testing.assert_array_equal(result, [2, 2])
    # Unpickled where no loop runs: the callback cannot run, and says why.
    orphan = await trio.to_thread.run_sync(cloudpickle.loads, pickled)
    with pytest.raises(
        ts.InvalidArgumentError, match=r"^virtual_chunked: the callback is a coroutine"
    ):
        await orphan.read()


def test_schema_matches_tensorstore() -> None:
    import tensorstore

    def read(domain: Any, array: np.ndarray, params: Any) -> None:
        array[...] = 0

    ours, theirs = (
        lib.virtual_chunked(
            read,
            dtype=lib.uint16,
            shape=[4, 5],
            chunk_layout=lib.ChunkLayout(read_chunk_shape=(2, 3)),
            dimension_units=["4nm", None],
        )
        for lib in (ts, tensorstore)
    )
    assert str(ours.schema) == str(theirs.schema)
    assert ours.mode == theirs.mode == "r"
    big = [
        lib.virtual_chunked(read, dtype=lib.uint16, shape=[4000, 5000]) for lib in (ts, tensorstore)
    ]
    assert str(big[0].chunk_layout) == str(big[1].chunk_layout)


async def test_write_only_views_take_chunk_aligned_writes_only() -> None:
    log: list[tuple[str, list[int]]] = []

    def write(domain: ts.IndexDomain, array: np.ndarray, params: Any) -> None:
        log.append((str(domain), array.tolist()))

    t = ts.virtual_chunked(
        write_function=write,
        dtype=ts.int32,
        shape=[4],
        chunk_layout=ts.ChunkLayout(read_chunk_shape=[2]),
    )
    assert t.mode == "w"
    await t[2:4].write(np.array([5, 6], np.int32))
    assert log == [("{ [2, 4) }", [5, 6])]
    with pytest.raises(
        ts.InvalidArgumentError,
        match=r"^Write-only virtual chunked view requires chunk-aligned writes$",
    ):
        await t[1:3].write(7)
    with pytest.raises(ValueError, match=r"^Source does not support reading\.$"):
        await t.read()


def test_a_write_covering_the_in_domain_part_of_an_edge_chunk_needs_no_read() -> None:
    import tensorstore

    def logged(lib: Any) -> tuple[list[Any], Any]:
        log: list[Any] = []

        def write(domain: Any, array: np.ndarray, params: Any) -> None:
            log.append((list(domain.inclusive_min), list(domain.exclusive_max), array.tolist()))

        view = lib.virtual_chunked(
            write_function=write,
            dtype=lib.int32,
            shape=[5, 3],
            chunk_layout=lib.ChunkLayout(read_chunk_shape=[2, 2]),
        )
        return log, view

    for lib in (ts, tensorstore):
        log, view = logged(lib)
        view[4:5, :].write(np.array([[1, 2, 3]], np.int32)).result()
        assert sorted(log) == [([4, 0], [5, 2], [[1, 2]]), ([4, 2], [5, 3], [[3]])], lib
        log.clear()
        view[2:4, 2:3].write(9).result()
        assert log == [([2, 2], [4, 3], [[9], [9]])], lib
        with pytest.raises(ValueError, match=r"^Write-only virtual chunked view requires"):
            view[4:5, 0:1].write(0).result()


async def test_edge_chunks_are_read_only_for_writes_that_leave_part_of_them() -> None:
    reads: list[str] = []
    written: list[list[int]] = []

    def read(domain: ts.IndexDomain, array: np.ndarray, params: Any) -> None:
        reads.append(str(domain))
        array[...] = -1

    def write(domain: ts.IndexDomain, array: np.ndarray, params: Any) -> None:
        written.append(array.tolist())

    t = ts.virtual_chunked(
        read, write, dtype=ts.int32, shape=[5], chunk_layout=ts.ChunkLayout(read_chunk_shape=[4])
    )
    await t[4:5].write(np.array([8], np.int32))
    assert (reads, written) == ([], [[8]])
    await t[1:4].write(np.array([1, 2, 3], np.int32))
    assert (reads, written) == (["{ [0, 4) }"], [[8], [-1, 1, 2, 3]])


async def test_plain_functions_returning_coroutines_run_them_on_the_loop() -> None:
    seen: list[Any] = []

    async def fill(array: np.ndarray) -> None:
        seen.append(_where())
        array[...] = 4

    def read(domain: ts.IndexDomain, array: np.ndarray, params: Any) -> Any:
        seen.append(_where()[2])
        return fill(array)

    written: list[list[int]] = []

    async def store(array: np.ndarray) -> None:
        written.append(array.tolist())

    def write(domain: ts.IndexDomain, array: np.ndarray, params: Any) -> Any:
        return store(array)

    t = ts.virtual_chunked(read, write, dtype=ts.int32, shape=[2])
    np.testing.assert_array_equal(await t.read(), [4, 4])
    await t.write(np.array([1, 2], np.int32))
    assert seen == [False, ("trio", threading.current_thread(), False)]
    assert written == [[1, 2]]


def test_plain_callbacks_may_return_a_tensortrio_future() -> None:
    # TensorStore types the result as FutureLike: a done future, or a promise's, resolved later.
    promise, pending = ts.Promise.new()

    def read(domain: ts.IndexDomain, array: np.ndarray, params: Any) -> ts.Future[None]:
        array[...] = 4
        threading.Timer(0.01, lambda: promise.set_result(None)).start()
        return pending

    assert ts.virtual_chunked(read, dtype="int32", shape=[2]).read().result().tolist() == [4, 4]
    written: list[list[int]] = []

    def write(domain: ts.IndexDomain, array: np.ndarray, params: Any) -> ts.Future[None]:
        written.append(array.tolist())
        return ts.Future(None)

    store = ts.virtual_chunked(write_function=write, dtype="int32", shape=[2])
    store[...] = [5, 6]
    assert written == [[5, 6]]


@pytest.mark.parametrize("library", ["tensortrio", "tensorstore"])
def test_a_rank_alone_gives_an_unbounded_view_read_through_finite_slices(library: str) -> None:
    module: Any = pytest.importorskip(library)

    def read(domain: Any, array: np.ndarray, params: Any) -> None:
        array[...] = np.arange(domain.inclusive_min[0], domain.exclusive_max[0])[:, np.newaxis]

    store = module.virtual_chunked(read, dtype="int32", rank=2)
    assert str(store.domain) == "{ (-inf, +inf), (-inf, +inf) }"
    assert store.chunk_layout.read_chunk.shape == (1024, 1024)
    assert store[-2:1, 5:7].read().result().tolist() == [[-2, -2], [-1, -1], [0, 0]]
    with pytest.raises(ValueError, match="finite"):
        store.read().result()
    half = module.virtual_chunked(
        read, dtype="int32", domain=module.IndexDomain(inclusive_min=[0, 0], exclusive_max=[module.inf + 1, 4])
    )
    assert half.chunk_layout.read_chunk.shape == (262144, 4)


def test_callbacks_get_the_domain_with_its_labels() -> None:
    seen: list[str] = []

    def read(domain: ts.IndexDomain, array: np.ndarray, params: Any) -> None:
        seen.append(str(domain))
        array[...] = 0

    ts.virtual_chunked(read, dtype="int32", domain=ts.IndexDomain(shape=[2, 3], labels=["a", "b"])).read().result()
    assert seen == ['{ "a": [0, 2), "b": [0, 3) }']  # as tensorstore passes it


@pytest.mark.parametrize("library", ["tensortrio", "tensorstore"])
def test_callbacks_get_arrays_laid_out_in_the_inner_order(library: str) -> None:
    module: Any = pytest.importorskip(library)
    data = np.arange(24, dtype=np.int32).reshape(4, 6)
    strides: list[tuple[int, ...]] = []

    def read(domain: Any, array: np.ndarray, params: Any) -> None:
        strides.append(array.strides)
        array[...] = data[domain.index_exp]

    def write(domain: Any, array: np.ndarray, params: Any) -> None:
        strides.append(array.strides)

    layout = module.ChunkLayout(inner_order=[1, 0], read_chunk_shape=[2, 3])
    store = module.virtual_chunked(read, write, dtype="int32", shape=[4, 6], chunk_layout=layout)
    assert store.chunk_layout.inner_order == (1, 0)
    np.testing.assert_array_equal(store.read().result(), data)
    store[0:2, 0:3] = 1  # a whole chunk
    store[2:3, 3:5] = 1  # part of one: read, merged, written
    assert set(strides) == {(4, 8)}  # Fortran order: dimension 1 outermost
    strides.clear()

    def read_cube(domain: Any, array: np.ndarray, params: Any) -> None:
        strides.append(array.strides)
        array[...] = 0

    layout = module.ChunkLayout(inner_order=[2, 0, 1])
    module.virtual_chunked(read_cube, dtype="int32", shape=[2, 3, 4], chunk_layout=layout).read().result()
    assert strides == [(12, 4, 24)]  # dimension 2 outermost, then 0, then 1


def test_blocking_on_the_loop_that_runs_the_callbacks_raises_instead_of_hanging() -> None:
    """``result()`` in the asyncio loop that must run a view's coroutine callbacks could never
    return (tensorstore hangs there); it says so, and ``await`` works."""

    async def main() -> tuple[str, list[int], str]:
        async def read(domain: ts.IndexDomain, array: np.ndarray, params: Any) -> None:
            array[...] = 7

        async def write(domain: ts.IndexDomain, array: np.ndarray, params: Any) -> None:
            return None

        view = ts.virtual_chunked(read, write, dtype=ts.uint8, domain=ts.IndexDomain(shape=[4]))
        with pytest.raises(RuntimeError, match=r"^Future\.result\(\) called in the thread running asyncio loop .* would deadlock"):
            view.read().result()
        with pytest.raises(RuntimeError, match=r"would deadlock: use 'await future'$"):
            view.write(np.zeros(4, np.uint8)).result()
        plain = ts.virtual_chunked(lambda domain, array, params: array.fill(1), dtype=ts.uint8, domain=ts.IndexDomain(shape=[2]))
        return "ok", (await view.read()).tolist(), str(plain.read().result().tolist())

    assert asyncio.run(main()) == ("ok", [7, 7, 7, 7], "[1, 1]")
