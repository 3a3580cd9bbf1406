"""Seed 002: ``tensorstore.open`` examples from TensorStore's documentation, run verbatim.

The reprs are the documentation's outputs. Left out (no network, other
drivers): the ``neuroglancer_precomputed`` examples on ``gs://`` and the ``n5``
example.
"""

from __future__ import annotations

import asyncio

import numpy as np

import tensortrio as ts

INNER_ORDER_REPR = """\
TensorStore({
  'context': {
    'cache_pool': {},
    'data_copy_concurrency': {},
    'memory_key_value_store': {},
  },
  'driver': 'zarr',
  'dtype': 'int32',
  'kvstore': {'driver': 'memory'},
  'metadata': {
    'chunks': [101, 101, 101],
    'compressor': {
      'blocksize': 0,
      'clevel': 5,
      'cname': 'lz4',
      'id': 'blosc',
      'shuffle': -1,
    },
    'dimension_separator': '.',
    'dtype': '<i4',
    'fill_value': None,
    'filters': None,
    'order': 'F',
    'shape': [1000, 2000, 3000],
    'zarr_format': 2,
  },
  'transform': {
    'input_exclusive_max': [[1000], [2000], [3000]],
    'input_inclusive_min': [0, 0, 0],
  },
})"""

FILL_VALUE_REPR = """\
TensorStore({
  'context': {
    'cache_pool': {},
    'data_copy_concurrency': {},
    'memory_key_value_store': {},
  },
  'driver': 'zarr',
  'dtype': 'float32',
  'kvstore': {'driver': 'memory'},
  'metadata': {
    'chunks': [101, 101, 101],
    'compressor': {
      'blocksize': 0,
      'clevel': 5,
      'cname': 'lz4',
      'id': 'blosc',
      'shuffle': -1,
    },
    'dimension_separator': '.',
    'dtype': '<f4',
    'fill_value': 42.0,
    'filters': None,
    'order': 'C',
    'shape': [1000, 2000, 3000],
    'zarr_format': 2,
  },
  'transform': {
    'input_exclusive_max': [[1000], [2000], [3000]],
    'input_inclusive_min': [0, 0, 0],
  },
})"""

PARTIAL_CHUNK_REPR = """\
TensorStore({
  'context': {
    'cache_pool': {},
    'data_copy_concurrency': {},
    'memory_key_value_store': {},
  },
  'driver': 'zarr',
  'dtype': 'float32',
  'kvstore': {'driver': 'memory'},
  'metadata': {
    'chunks': [10, 1414, 707],
    'compressor': {
      'blocksize': 0,
      'clevel': 5,
      'cname': 'lz4',
      'id': 'blosc',
      'shuffle': -1,
    },
    'dimension_separator': '.',
    'dtype': '<f4',
    'fill_value': None,
    'filters': None,
    'order': 'C',
    'shape': [1000, 2000, 3000],
    'zarr_format': 2,
  },
  'transform': {
    'input_exclusive_max': [[1000], [2000], [3000]],
    'input_inclusive_min': [0, 0, 0],
  },
})"""

BIG_ENDIAN_REPR = """\
TensorStore({
  'context': {
    'cache_pool': {},
    'data_copy_concurrency': {},
    'memory_key_value_store': {},
  },
  'driver': 'zarr',
  'dtype': 'float32',
  'kvstore': {'driver': 'memory'},
  'metadata': {
    'chunks': [101, 101, 101],
    'compressor': {
      'blocksize': 0,
      'clevel': 5,
      'cname': 'lz4',
      'id': 'blosc',
      'shuffle': -1,
    },
    'dimension_separator': '.',
    'dtype': '>f4',
    'fill_value': None,
    'filters': None,
    'order': 'C',
    'shape': [1000, 2000, 3000],
    'zarr_format': 2,
  },
  'transform': {
    'input_exclusive_max': [[1000], [2000], [3000]],
    'input_inclusive_min': [0, 0, 0],
  },
})"""

ASSUME_SPEC_REPR = """\
Spec({
  'driver': 'zarr',
  'dtype': 'float32',
  'kvstore': {'driver': 'memory'},
  'metadata': {
    'chunks': [5],
    'compressor': {
      'blocksize': 0,
      'clevel': 5,
      'cname': 'lz4',
      'id': 'blosc',
      'shuffle': -1,
    },
    'dimension_separator': '.',
    'dtype': '<f4',
    'fill_value': None,
    'filters': None,
    'order': 'C',
    'shape': [5],
    'zarr_format': 2,
  },
  'transform': {'input_exclusive_max': [[5]], 'input_inclusive_min': [0]},
})"""

ASSUMED_STORE_REPR = """\
TensorStore({
  'assume_metadata': True,
  'context': {
    'cache_pool': {},
    'data_copy_concurrency': {},
    'memory_key_value_store': {},
  },
  'driver': 'zarr',
  'dtype': 'float32',
  'kvstore': {'driver': 'memory'},
  'metadata': {
    'chunks': [5],
    'compressor': {
      'blocksize': 0,
      'clevel': 5,
      'cname': 'lz4',
      'id': 'blosc',
      'shuffle': -1,
    },
    'dimension_separator': '.',
    'dtype': '<f4',
    'fill_value': None,
    'filters': None,
    'order': 'C',
    'shape': [5],
    'zarr_format': 2,
  },
  'transform': {'input_exclusive_max': [[5]], 'input_inclusive_min': [0]},
})"""


async def _inner_order() -> str:
    store = await ts.open(
        {
            'driver': 'zarr',
            'kvstore': {
                'driver': 'memory'
            }
        },
        create=True,
        dtype=ts.int32,
        shape=[1000, 2000, 3000],
        chunk_layout=ts.ChunkLayout(inner_order=[2, 1, 0]),
    )
    return repr(store)


async def _fill_value() -> str:
    store = await ts.open(
        {
            'driver': 'zarr',
            'kvstore': {
                'driver': 'memory'
            },
        },
        create=True,
        dtype=ts.float32,
        shape=[1000, 2000, 3000],
        fill_value=42)
    return repr(store)


async def _partial_chunk_layout() -> str:
    store = await ts.open(
        {
            'driver': 'zarr',
            'kvstore': {
                'driver': 'memory'
            },
        },
        create=True,
        dtype=ts.float32,
        shape=[1000, 2000, 3000],
        chunk_layout=ts.ChunkLayout(
            chunk_shape=[10, None, None],
            chunk_aspect_ratio=[None, 2, 1],
            chunk_elements=10000000,
        ),
    )
    return repr(store)


async def _big_endian() -> str:
    store = await ts.open(
        {
            'driver': 'zarr',
            'kvstore': {
                'driver': 'memory'
            },
            'metadata': {
                'dtype': '>f4'
            },
        },
        create=True,
        shape=[1000, 2000, 3000])
    return repr(store)


async def test_create_examples_trio() -> None:
    assert await _inner_order() == INNER_ORDER_REPR
    assert await _fill_value() == FILL_VALUE_REPR
    assert await _partial_chunk_layout() == PARTIAL_CHUNK_REPR
    assert await _big_endian() == BIG_ENDIAN_REPR


def test_create_examples_asyncio() -> None:
    async def main() -> list[str]:
        return [await _inner_order(), await _fill_value(), await _partial_chunk_layout(),
                await _big_endian()]

    assert asyncio.run(main()) == [
        INNER_ORDER_REPR, FILL_VALUE_REPR, PARTIAL_CHUNK_REPR, BIG_ENDIAN_REPR
    ]


async def _skip_reading_metadata() -> None:
    context = ts.Context()
    # First create the array normally
    store = await ts.open({
        "driver": "zarr",
        "kvstore": "memory://"
    },
                          context=context,
                          dtype=ts.float32,
                          shape=[5],
                          create=True)
    # Note that the .zarray metadata has been written.
    assert await store.kvstore.list() == [b'.zarray']
    await store.write([1, 2, 3, 4, 5])
    spec = store.spec()
    assert repr(spec) == ASSUME_SPEC_REPR
    # Re-open later without re-reading metadata
    store2 = await ts.open(spec,
                           context=context,
                           open=True,
                           assume_metadata=True)
    # Read data using the unverified metadata from `spec`
    data = await store2.read()
    np.testing.assert_array_equal(data, np.array([1, 2, 3, 4, 5], dtype=np.float32))
    assert data.dtype == np.float32


async def _skip_writing_metadata() -> None:
    context = ts.Context()
    spec = ts.Spec(json={"driver": "zarr", "kvstore": "memory://"})
    spec.update(dtype=ts.float32, shape=[5])
    # Open the array without writing the metadata.
    store = await ts.open(spec,
                          context=context,
                          open=True,
                          create=True,
                          assume_metadata=True)
    await store.write([1, 2, 3, 4, 5])
    # Note that the data chunk has been written but not the .zarray metadata
    assert await store.kvstore.list() == [b'0']
    # From a single machine, actually write the metadata.
    await ts.open(spec, context=context, open=True, create=True)
    # Metadata has now been written.
    assert await store.kvstore.list() == [b'.zarray', b'0']
    assert repr(store) == ASSUMED_STORE_REPR


async def test_assume_metadata_examples_trio() -> None:
    await _skip_reading_metadata()
    await _skip_writing_metadata()


def test_assume_metadata_examples_asyncio() -> None:
    asyncio.run(_skip_reading_metadata())
    asyncio.run(_skip_writing_metadata())
