"""zarr3 codec chains where tensortrio once corrupted or dropped data; read across libraries."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tensortrio as tt

tensorstore = pytest.importorskip("tensorstore")
zarr = pytest.importorskip("zarr")

PAIRS = pytest.mark.parametrize(
    ("writer", "reader"), [(tt, tensorstore), (tensorstore, tt)], ids=["tt-writes", "ts-writes"]
)


def _round_trip(writer: Any, reader: Any, path: Any, metadata: dict[str, Any], data: np.ndarray) -> np.ndarray:
    spec = {"driver": "zarr3", "kvstore": {"driver": "file", "path": str(path)}}
    store = writer.open(
        {**spec, "metadata": metadata}, create=True, dtype=str(data.dtype), shape=list(data.shape)
    ).result(timeout=30)
    store.write(data).result(timeout=30)
    return np.asarray(reader.open(spec).result(timeout=30).read().result(timeout=30))


@PAIRS
@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_big_endian_complex_swaps_each_part(writer: Any, reader: Any, dtype: str, tmp_path: Any) -> None:
    data = np.array([1 + 2j, 3 + 4j], dtype)
    metadata = {"codecs": [{"name": "bytes", "configuration": {"endian": "big"}}]}
    np.testing.assert_array_equal(_round_trip(writer, reader, tmp_path, metadata, data), data)
    assert zarr.open_array(str(tmp_path), mode="r")[...].tolist() == data.tolist()


@PAIRS
def test_a_transpose_before_sharding(writer: Any, reader: Any, tmp_path: Any) -> None:
    data = np.arange(1, 9, dtype=np.uint16).reshape(2, 4)
    metadata = {
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2, 4]}},
        "codecs": [
            {"name": "transpose", "configuration": {"order": [1, 0]}},
            {"name": "sharding_indexed", "configuration": {"chunk_shape": [2, 1]}},
        ],
    }
    np.testing.assert_array_equal(_round_trip(writer, reader, tmp_path, metadata, data), data)


@pytest.mark.filterwarnings("ignore:Combining a `sharding_indexed` codec:UserWarning")
def test_a_compressor_after_sharding_compresses_the_shard(tmp_path: Any) -> None:
    # tensorstore refuses this chain; zarr-python writes and reads it.
    data = np.arange(1, 5, dtype=np.uint8)
    metadata = {
        "codecs": [
            {"name": "sharding_indexed", "configuration": {"chunk_shape": [2]}},
            {"name": "gzip", "configuration": {"level": 1}},
        ]
    }
    spec = {"driver": "zarr3", "kvstore": {"driver": "file", "path": str(tmp_path)}}
    store = tt.open({**spec, "metadata": metadata}, create=True, dtype=tt.uint8, shape=[4]).result(timeout=30)
    store.write(data).result(timeout=30)
    assert (tmp_path / "c" / "0").read_bytes()[:2] == b"\x1f\x8b"
    assert zarr.open_array(str(tmp_path), mode="r")[...].tolist() == data.tolist()
    zarr.open_array(str(tmp_path), mode="r+")[...] = data[::-1]
    assert tt.open(spec).result(timeout=30).read().result(timeout=30).tolist() == [4, 3, 2, 1]


@PAIRS
def test_a_value_with_a_nan_part_is_not_the_fill_value(writer: Any, reader: Any, tmp_path: Any) -> None:
    spec = {"driver": "zarr3", "kvstore": {"driver": "file", "path": str(tmp_path)}}
    store = writer.open(
        {**spec, "metadata": {"data_type": "complex64", "fill_value": ["NaN", 0.0]}},
        create=True,
        shape=[2],
    ).result(timeout=30)
    store[0] = complex(1, np.nan)
    value = reader.open(spec).result(timeout=30)[0].read().result(timeout=30)
    assert value.real == 1
    assert np.isnan(value.imag)


@PAIRS
def test_a_transposed_shard_with_inner_chunks_in_the_transposed_order(
    writer: Any, reader: Any, tmp_path: Any
) -> None:
    # The inner chunk shape [4, 1] is in the transposed order: [1, 4] in the array's.
    data = np.arange(8, dtype=np.int16).reshape(2, 4)
    metadata = {
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2, 4]}},
        "codecs": [
            {"name": "transpose", "configuration": {"order": [1, 0]}},
            {"name": "sharding_indexed", "configuration": {"chunk_shape": [4, 1]}},
        ],
    }
    np.testing.assert_array_equal(_round_trip(writer, reader, tmp_path, metadata, data), data)
    spec = {"driver": "zarr3", "kvstore": {"driver": "file", "path": str(tmp_path)}}
    assert writer.open(spec).result(timeout=30).chunk_layout.read_chunk.shape == (1, 4)


BOTH = pytest.mark.parametrize("lib", [tt, tensorstore], ids=["tensortrio", "tensorstore"])

GZIP5 = [{"name": "bytes"}, {"name": "gzip", "configuration": {"level": 5}}]


@BOTH
@pytest.mark.parametrize(
    ("metadata_codecs", "codec_codecs", "opens"),
    [
        (["bytes", "gzip"], None, True),
        (None, ["bytes", "gzip"], True),
        (None, ["gzip"], True),  # the array -> bytes codec left out: any
        (None, ["bytes", {"name": "gzip", "configuration": {"level": 6}}], False),
        (["bytes", "zstd"], None, False),
    ],
    ids=["metadata-level-open", "codec-level-open", "codec-no-bytes", "codec-other-level", "other-codec"],
)
def test_a_codec_constraint_binds_only_what_it_gives(
    lib: Any, metadata_codecs: Any, codec_codecs: Any, opens: bool
) -> None:
    context = lib.Context()
    lib.open(
        {"driver": "zarr3", "kvstore": "memory://a/", "metadata": {"codecs": GZIP5}},
        create=True, dtype=lib.int32, shape=[4], context=context,
    ).result(timeout=30)
    spec: dict[str, Any] = {"driver": "zarr3", "kvstore": "memory://a/"}
    kwargs: dict[str, Any] = {}
    if metadata_codecs is not None:
        spec["metadata"] = {"codecs": metadata_codecs}
    if codec_codecs is not None:
        kwargs["codec"] = lib.CodecSpec({"driver": "zarr3", "codecs": codec_codecs})
    future = lib.open(spec, context=context, **kwargs)
    if opens:
        future.result(timeout=30)
    else:
        with pytest.raises(ValueError, match=r"codec"):
            future.result(timeout=30)


@BOTH
def test_codec_constraints_are_kept_as_given_and_merge_member_by_member(lib: Any) -> None:
    assert lib.CodecSpec({"driver": "zarr3", "codecs": ["bytes", "gzip"]}).to_json() == {
        "codecs": [{"name": "bytes"}, {"name": "gzip"}],
        "driver": "zarr3",
    }
    schema = lib.Schema(codec=lib.CodecSpec({"driver": "zarr3", "codecs": ["bytes", "zstd"]}))
    schema.update(
        codec=lib.CodecSpec(
            {"driver": "zarr3", "codecs": ["bytes", {"name": "zstd", "configuration": {"level": 5}}]}
        )
    )
    assert schema.codec.to_json()["codecs"] == [
        {"name": "bytes"},
        {"name": "zstd", "configuration": {"level": 5}},
    ]
    with pytest.raises(ValueError, match=r"Cannot merge"):
        schema.update(codec=lib.CodecSpec({"driver": "zarr3", "codecs": ["bytes", "gzip"]}))


@BOTH
@pytest.mark.parametrize("endian", ["little", "big"])
def test_a_bytes_endian_constrains_nothing_for_a_one_byte_type(lib: Any, endian: str) -> None:
    context = lib.Context()
    lib.open(
        {"driver": "zarr3", "kvstore": "memory://e/"}, dtype=lib.uint8, shape=[4], create=True, context=context
    ).result(timeout=30)
    codecs = [{"name": "bytes", "configuration": {"endian": endian}}]
    lib.open(
        {"driver": "zarr3", "kvstore": "memory://e/", "metadata": {"codecs": codecs}}, context=context
    ).result(timeout=30)
    lib.open(
        {"driver": "zarr3", "kvstore": "memory://e/"},
        codec=lib.CodecSpec({"driver": "zarr3", "codecs": codecs}),
        context=context,
    ).result(timeout=30)


_T = {"name": "transpose", "configuration": {"order": [1, 0]}}
_B = {"name": "bytes", "configuration": {"endian": "little"}}
_S = {"name": "sharding_indexed", "configuration": {"chunk_shape": [2, 2]}}
_G5 = {"name": "gzip", "configuration": {"level": 5}}


@pytest.mark.parametrize("lib", [tt, tensorstore], ids=["tensortrio", "tensorstore"])
@pytest.mark.parametrize(
    ("a", "b", "merged"),
    [
        ([_T], [_B], [_T, _B]),
        ([_B], [_T], [_T, _B]),
        ([_T, _B], [], [_T, _B]),
        ([_T, _B], [_S], [{"name": "sharding_indexed",
                           "configuration": {"chunk_shape": [2, 2], "codecs": [_T, _B]}}]),
        ([_S, {"name": "gzip"}], [_S, _G5], [_S, _G5]),
        ([_B, _G5], [_B], None),  # another number of bytes -> bytes codecs
        ([_B, _G5], [_B, {"name": "gzip", "configuration": {"level": 1}}], None),
        ([_T, _T], [], None),  # only one transpose more
    ],
)
def test_codec_specs_merge_as_tensorstore_merges_them(
    lib: Any, a: list[Any], b: list[Any], merged: list[Any] | None
) -> None:
    schema = lib.Schema(codec=lib.CodecSpec({"driver": "zarr3", "codecs": a}))
    if merged is None:
        with pytest.raises(ValueError, match=r"Cannot merge"):
            schema.update(codec=lib.CodecSpec({"driver": "zarr3", "codecs": b}))
        return
    schema.update(codec=lib.CodecSpec({"driver": "zarr3", "codecs": b}))
    assert schema.codec.to_json()["codecs"] == merged


@pytest.mark.parametrize("lib", [tt, tensorstore], ids=["tensortrio", "tensorstore"])
def test_a_schema_codec_fills_in_the_inner_codecs_of_the_metadatas_sharding(lib: Any) -> None:
    spec = {"driver": "zarr3", "kvstore": "memory://", "metadata": {"codecs": [_S]}}
    assert lib.Spec(spec).codec.to_json() == {"driver": "zarr3", "codecs": [_S]}
    store = lib.open(
        spec, create=True, dtype="uint16", shape=[8, 8],
        codec=lib.CodecSpec({"driver": "zarr3", "codecs": [_T, {"name": "bytes"}, {"name": "zstd"}]}),
    ).result()
    inner = store.spec().to_json()["metadata"]["codecs"][0]["configuration"]["codecs"]
    assert [codec["name"] for codec in inner] == ["transpose", "bytes", "zstd"]
    # The metadata's codecs bind what is made: a schema codec cannot shard them.
    with pytest.raises(ValueError, match=r'"codecs"'):
        lib.open(
            {"driver": "zarr3", "kvstore": "memory://",
             "metadata": {"codecs": [{"name": "bytes"}, {"name": "gzip"}]}},
            create=True, dtype="uint16", shape=[8, 8],
            codec=lib.CodecSpec({"driver": "zarr3", "codecs": [_S]}),
        ).result()
