"""The two examples of tensorstore.virtual_chunked's documentation, verbatim, under asyncio and trio."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import numpy as np

import tensortrio as ts

if TYPE_CHECKING:
    import pytest


async def _read_only_example() -> np.ndarray:
    a = ts.array([[1, 2, 3], [4, 5, 6]], dtype=ts.uint32)

    async def do_read(
        domain: ts.IndexDomain, array: np.ndarray, read_params: ts.VirtualChunkedReadParameters
    ) -> None:
        print(f"Computing content for: {domain}")
        array[...] = (await a[domain].read()) + 100

    t = ts.virtual_chunked(do_read, dtype=a.dtype, domain=a.domain)
    result: np.ndarray = await t.read()
    return result


async def _read_write_example() -> tuple[np.ndarray, np.ndarray]:
    array = np.zeros(shape=[4, 5], dtype=np.uint32)
    array[1] = 50

    def do_read(domain, chunk, read_context):  # type: ignore[no-untyped-def]
        chunk[...] = array[domain.index_exp]

    def do_write(domain, chunk, write_context):  # type: ignore[no-untyped-def]
        array[domain.index_exp] = chunk

    t = ts.virtual_chunked(
        do_read,
        do_write,
        dtype=array.dtype,
        shape=array.shape,
        chunk_layout=ts.ChunkLayout(read_chunk_shape=(2, 3)),
    )
    first = await t.read()
    t[1:3, 1:3] = 42
    return first, array


def _check_read_only(result: np.ndarray, out: str) -> None:
    assert out == "Computing content for: { [0, 2), [0, 3) }\n"
    assert repr(result) == "array([[101, 102, 103],\n       [104, 105, 106]], dtype=uint32)"


def _check_read_write(first: np.ndarray, array: np.ndarray) -> None:
    assert repr(first) == (
        "array([[ 0,  0,  0,  0,  0],\n"
        "       [50, 50, 50, 50, 50],\n"
        "       [ 0,  0,  0,  0,  0],\n"
        "       [ 0,  0,  0,  0,  0]], dtype=uint32)"
    )
    assert repr(array) == (
        "array([[ 0,  0,  0,  0,  0],\n"
        "       [50, 42, 42, 50, 50],\n"
        "       [ 0, 42, 42,  0,  0],\n"
        "       [ 0,  0,  0,  0,  0]], dtype=uint32)"
    )


async def test_read_only_example_under_trio(capsys: pytest.CaptureFixture[str]) -> None:
    result = await _read_only_example()
    _check_read_only(result, capsys.readouterr().out)


def test_read_only_example_under_asyncio(capsys: pytest.CaptureFixture[str]) -> None:
    result = asyncio.run(_read_only_example())
    _check_read_only(result, capsys.readouterr().out)


async def test_read_write_example_under_trio() -> None:
    # ``t[...] = 42`` blocks this run; the plain-function callbacks run in worker threads.
    first, array = await _read_write_example()
    _check_read_write(first, array)


def test_read_write_example_under_asyncio() -> None:
    first, array = asyncio.run(_read_write_example())
    _check_read_write(first, array)
