"""Zarr v3 array metadata (``zarr.json``): the full stored form and the partial spec form.

:class:`Zarr3Metadata` is what is stored (every required member present, the
codec chain resolved); :class:`Zarr3PartialMetadata` is the spec's
``"metadata"`` member (every member optional).  Messages name the member as
TensorStore does: ``Error parsing object member "shape": ...``.
"""

from __future__ import annotations

import json as _json
from typing import TYPE_CHECKING, Any, Final

import attrs

from ...errors import FailedPreconditionError, InvalidArgumentError
from ...index.domain import check_unique_labels
from ...index.interval import MAX_FINITE_INDEX
from ...schema.chunk_json import check_known_members, json_text
from ...schema.fill_value import fill_values_identical
from ...schema.json_member import (
    json_each,
    json_integer_in,
    json_rank_array,
    member_error,
    parse_member,
)
from ..format_metadata import metadata_mismatch, resized_shape
from .chunk_key_encoding import ChunkKeyEncoding, parse_chunk_key_encoding
from .codec_constraint import codecs_json_shown, codecs_satisfy, given_codecs
from .codecs import ArrayInfo, CodecChain, ShardingCodec, parse_codec_chain
from .dimension_units import units_from_attributes
from .dtype import data_type_json, numpy_dtype, parse_data_type
from .fill_value import decode_fill_value, encode_fill_value
from .stored_codecs import check_stored_codecs

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import numpy as np

    from ...schema.unit import Unit

__all__ = [
    "Zarr3Metadata",
    "Zarr3PartialMetadata",
    "parse_partial_metadata",
    "parse_zarr3_metadata",
]

_KNOWN: Final = (
    "zarr_format",
    "node_type",
    "shape",
    "data_type",
    "chunk_grid",
    "chunk_key_encoding",
    "fill_value",
    "codecs",
    "attributes",
    "dimension_names",
    "storage_transformers",
)


Extensions = tuple[tuple[str, str], ...]
"""Extension members (``{"must_understand": false, ...}``) by name, as sorted JSON text."""


def _extensions(json: dict[str, Any]) -> Extensions:
    """The extension members of a metadata object; any other unknown member is an error.

    The zarr v3 specification lets an implementation ignore a member marked
    ``"must_understand": false``; TensorStore keeps it, in ``zarr.json`` and
    in the spec, and so does tensortrio.

    Raises:
        InvalidArgumentError: an unknown member not so marked (TensorStore's message).
    """
    found = []
    for name, value in json.items():
        if name in _KNOWN:
            continue
        if not (isinstance(value, dict) and value.get("must_understand") is False):
            raise InvalidArgumentError(
                f'Unsupported metadata field "{name}" is not marked {{"must_understand": false}}'
            )
        found.append((name, _json.dumps(value, sort_keys=True)))
    return tuple(sorted(found))


def _vector(value: Any, low: int, rank: int | None) -> tuple[int, ...]:
    # As zarr v2 and tensorstore: an integral float such as 5.0 is an index too.
    return json_each(json_rank_array(value, rank), json_integer_in(low, MAX_FINITE_INDEX))


def _constant(expected: Any) -> Callable[[Any], Any]:
    def parse(value: Any) -> Any:
        if value != expected or isinstance(value, bool):
            raise InvalidArgumentError(f"Expected {json_text(expected)}, but received: {json_text(value)}")
        return value

    return parse


def _chunk_grid(rank: int | None) -> Callable[[Any], tuple[int, ...]]:
    def parse(value: Any) -> tuple[int, ...]:
        if not isinstance(value, dict):
            raise InvalidArgumentError(f"Expected object, but received: {json_text(value)}")
        if value.get("name") != "regular":
            raise member_error(
                "name", f'Expected "regular", but received: {json_text(value.get("name"))}'
            )
        check_known_members(value, ("name", "configuration"))
        config = value.get("configuration")
        if not isinstance(config, dict) or "chunk_shape" not in config:
            raise member_error("configuration", f"Expected object with \"chunk_shape\", but received: {json_text(config)}")
        try:
            check_known_members(config, ("chunk_shape",))
        except InvalidArgumentError as exc:
            raise member_error("configuration", exc) from None
        try:
            return _vector(config["chunk_shape"], 1, rank)
        except InvalidArgumentError as exc:
            raise member_error("configuration", member_error("chunk_shape", exc)) from None

    return parse


def _stored_codecs(value: Any, data_type: str) -> CodecChain:
    check_stored_codecs(value, data_type)
    return parse_codec_chain(value)


def _attributes(value: Any) -> str:
    if not isinstance(value, dict):
        raise InvalidArgumentError(f"Expected object, but received: {json_text(value)}")
    return _json.dumps(value, sort_keys=True)


def _dimension_names(rank: int | None) -> Callable[[Any], tuple[str | None, ...]]:
    def parse(value: Any) -> tuple[str | None, ...]:
        if not isinstance(value, list):
            raise InvalidArgumentError(f"Expected array, but received: {json_text(value)}")
        if rank is not None and len(value) != rank:
            raise InvalidArgumentError(f"Array has length {len(value)} but should have length {rank}")
        for i, name in enumerate(value):
            if name is not None and not isinstance(name, str):
                raise InvalidArgumentError(
                    f"Error parsing value at position {i}: Expected string or null, but "
                    f"received: {json_text(name)}"
                )
        # They become the domain's labels, which must be unique (TensorStore refuses too).
        check_unique_labels([name or "" for name in value])
        return tuple(value)

    return parse


def _storage_transformers(value: Any) -> None:
    if value != []:
        raise InvalidArgumentError(f"storage transformers are not supported, got {json_text(value)}")


def _array_info(shape: tuple[int, ...], data_type: str, fill_value: np.ndarray) -> ArrayInfo:
    return ArrayInfo(shape, data_type, numpy_dtype(data_type), fill_value)


@attrs.frozen
class Zarr3Metadata:
    """The complete metadata of a zarr v3 array, as stored in ``zarr.json``.

    ``codecs`` is resolved for one chunk of ``chunk_shape``; ``attributes``
    is kept as sorted JSON text (None: absent); ``dimension_names`` None when absent.
    """

    shape: tuple[int, ...]
    data_type: str
    chunk_shape: tuple[int, ...]
    fill_value: np.ndarray = attrs.field(eq=attrs.cmp_using(eq=fill_values_identical), hash=False)
    codecs: CodecChain
    chunk_key_encoding: ChunkKeyEncoding = attrs.field(factory=ChunkKeyEncoding)
    attributes: str | None = None
    dimension_names: tuple[str | None, ...] | None = None
    extensions: Extensions = ()

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def dtype(self) -> np.dtype[Any]:
        return numpy_dtype(self.data_type)

    @property
    def dimension_units(self) -> tuple[Unit | None, ...] | None:
        """Units from ``attributes.dimension_units`` (TensorStore's convention), None when absent."""
        return units_from_attributes(self.attributes, self.rank)

    @property
    def read_chunk_shape(self) -> tuple[int, ...]:
        """The innermost (read) chunk shape: the (nested) sharding's inner chunks, else the chunk."""
        shape = chain_read_chunk_shape(self.codecs, self.chunk_shape, self.rank)
        assert shape is not None
        return shape

    @property
    def inner_order(self) -> tuple[int, ...]:
        """The storage order of dimensions within the innermost chunks (``inner_order``)."""
        return chain_inner_order(self.codecs, self.rank)

    def to_json(self) -> dict[str, Any]:
        """The ``zarr.json`` object (keys sorted, as TensorStore writes it)."""
        json: dict[str, Any] = {
            "chunk_grid": {"configuration": {"chunk_shape": list(self.chunk_shape)}, "name": "regular"},
            "chunk_key_encoding": self.chunk_key_encoding.to_json(),
            "codecs": self.codecs.to_json(),
            "data_type": data_type_json(self.data_type),
            "fill_value": encode_fill_value(self.fill_value, self.data_type),
            "node_type": "array",
            "shape": list(self.shape),
            "zarr_format": 3,
        }
        if self.attributes is not None:
            attributes = _json.loads(self.attributes)
            if attributes:  # as TensorStore: no attributes, no member
                json["attributes"] = attributes
        if self.dimension_names is not None:
            json["dimension_names"] = list(self.dimension_names)
        json.update((name, _json.loads(text)) for name, text in self.extensions)
        return dict(sorted(json.items()))

    def resize(self, new_shape: Sequence[int]) -> Zarr3Metadata:
        """This metadata with ``shape`` replaced (attributes and everything else kept).

        Raises:
            ValueError: a different rank or an invalid size.
        """
        shape = resized_shape("zarr3", new_shape, self.rank, MAX_FINITE_INDEX)
        return attrs.evolve(self, shape=shape)


def check_sub_chunk_rank(inner: tuple[int, ...], rank: int) -> None:
    """Refuse a ``sharding_indexed`` inner chunk shape of another rank (tensorstore's message)."""
    if len(inner) != rank:
        raise InvalidArgumentError(
            f"sharding_indexed sub-chunk shape of {{{', '.join(map(str, inner))}}} is not "
            f"compatible with array of rank {rank}"
        )


def chain_read_chunk_shape(
    chain: CodecChain, chunk_shape: tuple[int, ...] | None, rank: int
) -> tuple[int, ...] | None:
    """The innermost (read) chunk shape of chunks of ``chunk_shape`` (None: unknown) through ``chain``."""
    perm = tuple(range(rank))
    shape = chunk_shape
    while isinstance(chain.array_to_bytes, ShardingCodec):
        perm = tuple(perm[i] for i in chain.inner_permutation(rank))
        inner = chain.array_to_bytes.chunk_shape
        if inner is None:
            return None  # a codec spec leaving it to the layout
        check_sub_chunk_rank(inner, rank)
        shape = tuple(inner[perm.index(i)] for i in range(rank))
        chain = chain.array_to_bytes.codecs
    return shape


def chain_inner_order(chain: CodecChain, rank: int) -> tuple[int, ...]:
    """The storage order of dimensions within the innermost chunks ``chain`` encodes."""
    perm = tuple(range(rank))
    while True:
        perm = tuple(perm[i] for i in chain.inner_permutation(rank))
        if not isinstance(chain.array_to_bytes, ShardingCodec):
            return perm
        chain = chain.array_to_bytes.codecs


def given_codecs_match(
    given: list[dict[str, Any]],
    wanted: CodecChain,
    stored: CodecChain,
    chunk_shape: tuple[int, ...],
    data_type: str,
    fill_value: np.ndarray,
) -> bool:
    """Whether the ``stored`` chain (for chunks of ``chunk_shape``) has what ``given`` says.

    ``wanted`` is ``given`` parsed. Member by member (see ``codec_constraint``),
    or, resolved for the array, equal outright (a ``bytes`` endian that a
    one-byte type leaves out, say).
    """
    if codecs_satisfy(given, codecs_json_shown(stored.to_json())):
        return True
    try:
        resolved = resolve_codecs(wanted, chunk_shape, data_type, fill_value)
    except InvalidArgumentError:
        return False
    return resolved.to_json() == stored.to_json()


def resolve_codecs(
    chain: CodecChain, chunk_shape: tuple[int, ...], data_type: str, fill_value: np.ndarray
) -> CodecChain:
    """``chain`` resolved for chunks of ``chunk_shape`` (errors prefixed with ``"codecs"``)."""
    try:
        return chain.resolve(_array_info(chunk_shape, data_type, fill_value))
    except InvalidArgumentError as exc:
        raise member_error("codecs", exc) from None


def parse_zarr3_metadata(json: Any) -> Zarr3Metadata:
    """Parse a complete ``zarr.json`` array document.

    Raises:
        ValueError: not an object, a missing, unknown or invalid member (message names it).
    """
    if not isinstance(json, dict):
        raise InvalidArgumentError(f"Expected object, but received: {json_text(json)}")
    extensions = _extensions(json)
    parse_member(json, "zarr_format", _constant(3), "3")
    parse_member(json, "node_type", _constant("array"), '"array"')
    shape = parse_member(json, "shape", lambda v: _vector(v, 0, None), "array")
    rank = len(shape)
    data_type = parse_member(json, "data_type", parse_data_type, "string")
    chunk_shape = parse_member(json, "chunk_grid", _chunk_grid(rank), "object")
    encoding = parse_member(json, "chunk_key_encoding", parse_chunk_key_encoding, "object")
    fill_value = parse_member(json, "fill_value", lambda v: decode_fill_value(v, data_type), "value")
    chain = parse_member(json, "codecs", lambda v: _stored_codecs(v, data_type), "array")
    attributes = parse_member(json, "attributes", _attributes, None)
    names = parse_member(json, "dimension_names", _dimension_names(rank), None)
    if names is not None and all(name is None for name in names):
        names = None  # all null (what zarr-python writes for no names): none, as in TensorStore
    parse_member(json, "storage_transformers", _storage_transformers, None)
    parse_member(json, "attributes", lambda v: units_from_attributes(_attributes(v), rank), None)
    return Zarr3Metadata(
        shape=shape,
        data_type=data_type,
        chunk_shape=chunk_shape,
        fill_value=fill_value,
        codecs=resolve_codecs(chain, chunk_shape, data_type, fill_value),
        chunk_key_encoding=encoding,
        attributes=attributes,
        dimension_names=names,
        extensions=extensions,
    )


@attrs.frozen
class Zarr3PartialMetadata:
    """The spec's ``"metadata"`` member: constraints on some ``zarr.json`` members (None: not given)."""

    shape: tuple[int, ...] | None = None
    data_type: str | None = None
    chunk_shape: tuple[int, ...] | None = None
    chunk_key_encoding: ChunkKeyEncoding | None = None
    fill_value: np.ndarray | None = attrs.field(default=None, eq=attrs.cmp_using(eq=fill_values_identical), hash=False)
    codecs: CodecChain | None = None
    """``codecs`` parsed (creation resolves it with the defaults)."""
    codecs_given: str | None = None
    """``codecs`` as given (JSON text; see ``codec_constraint``): what an existing array must have."""
    attributes: str | None = None
    dimension_names: tuple[str | None, ...] | None = None
    zarr_format: int | None = None
    node_type: str | None = None
    extensions: Extensions = ()

    @property
    def given_codecs(self) -> list[dict[str, Any]] | None:
        """``codecs`` as given, or None."""
        return None if self.codecs_given is None else _json.loads(self.codecs_given)

    @property
    def rank(self) -> int | None:
        for vector in (self.shape, self.chunk_shape, self.dimension_names):
            if vector is not None:
                return len(vector)
        return None

    def to_json(self) -> dict[str, Any]:
        """The normalised ``"metadata"`` JSON (given members only, keys sorted)."""
        json: dict[str, Any] = {}
        if self.attributes is not None:
            json["attributes"] = _json.loads(self.attributes)
        if self.chunk_shape is not None:
            json["chunk_grid"] = {"configuration": {"chunk_shape": list(self.chunk_shape)}, "name": "regular"}
        if self.chunk_key_encoding is not None:
            json["chunk_key_encoding"] = self.chunk_key_encoding.to_json()
        if self.codecs_given is not None:
            json["codecs"] = _json.loads(self.codecs_given)
        if self.data_type is not None:
            json["data_type"] = data_type_json(self.data_type)
            if self.fill_value is not None:
                json["fill_value"] = encode_fill_value(self.fill_value, self.data_type)
        if self.dimension_names is not None:
            json["dimension_names"] = list(self.dimension_names)
        if self.node_type is not None:
            json["node_type"] = self.node_type
        if self.shape is not None:
            json["shape"] = list(self.shape)
        if self.zarr_format is not None:
            json["zarr_format"] = self.zarr_format
        json.update((name, _json.loads(text)) for name, text in self.extensions)
        return json


def parse_partial_metadata(json: Any) -> Zarr3PartialMetadata:
    """Parse the spec's ``"metadata"`` member (every member optional, unknown ones an error).

    Raises:
        ValueError: an unknown or invalid member, or ``fill_value`` without ``data_type``.
    """
    if not isinstance(json, dict):
        raise InvalidArgumentError(f"Expected object, but received: {json_text(json)}")
    extensions = _extensions(json)
    zarr_format = parse_member(json, "zarr_format", _constant(3), None)
    node_type = parse_member(json, "node_type", _constant("array"), None)
    shape = parse_member(json, "shape", lambda v: _vector(v, 0, None), None)
    rank = None if shape is None else len(shape)
    chunk_shape = parse_member(json, "chunk_grid", _chunk_grid(rank), None)
    rank = rank if chunk_shape is None else len(chunk_shape)
    data_type = parse_member(json, "data_type", parse_data_type, None)
    fill_value = None
    if "fill_value" in json:
        if data_type is None:
            raise member_error("fill_value", 'must be specified in conjunction with "data_type"')
        fill_value = parse_member(json, "fill_value", lambda v: decode_fill_value(v, data_type), None)
    parse_member(json, "storage_transformers", _storage_transformers, None)
    return Zarr3PartialMetadata(
        shape=shape,
        data_type=data_type,
        chunk_shape=chunk_shape,
        chunk_key_encoding=parse_member(json, "chunk_key_encoding", parse_chunk_key_encoding, None),
        fill_value=fill_value,
        codecs=parse_member(json, "codecs", parse_codec_chain, None),
        codecs_given=parse_member(
            json, "codecs", lambda v: _json.dumps(given_codecs(v), sort_keys=True), None
        ),
        attributes=parse_member(json, "attributes", _attributes, None),
        dimension_names=parse_member(json, "dimension_names", _dimension_names(rank), None),
        zarr_format=zarr_format,
        node_type=node_type,
        extensions=extensions,
    )


def check_metadata_constraints(metadata: Zarr3Metadata, constraints: Zarr3PartialMetadata) -> None:
    """Check stored ``metadata`` against the spec's ``"metadata"`` constraints.

    ``codecs`` is compared after resolving the constraint for the stored chunk.

    Raises:
        FailedPreconditionError: a member differs, naming it and both values.
    """
    stored = metadata.to_json()
    wanted = constraints.to_json()
    given = constraints.given_codecs
    if given is not None and constraints.codecs is not None:
        # What the constraint gives must match (a gzip level left out matches any).
        if given_codecs_match(
            given,
            constraints.codecs,
            metadata.codecs,
            metadata.chunk_shape,
            metadata.data_type,
            metadata.fill_value,
        ):
            del wanted["codecs"]
        else:
            stored["codecs"] = codecs_json_shown(stored["codecs"])
    names = wanted.get("dimension_names")
    if names is not None and "dimension_names" not in stored and all(n is None for n in names):
        del wanted["dimension_names"]  # all null names: the same as none stored (TensorStore)
    for name in (
        "shape", "data_type", "chunk_grid", "chunk_key_encoding", "fill_value", "codecs",
        "dimension_names",
    ):
        if name in wanted and wanted[name] != stored.get(name):
            raise metadata_mismatch(name, wanted[name], stored.get(name))
    for name, _ in constraints.extensions:
        if wanted[name] != stored.get(name):
            raise metadata_mismatch(name, wanted[name], stored.get(name))
    _check_attributes(wanted.get("attributes", {}), stored.get("attributes", {}))


def _check_attributes(wanted: dict[str, Any], stored: dict[str, Any]) -> None:
    """Each attribute the spec names must be stored with an equal value (others may be stored too).

    Raises:
        FailedPreconditionError: as TensorStore words it (``<discarded>`` for a missing one).
    """
    for name, value in wanted.items():
        if name == "dimension_units":
            if value != stored.get(name):
                raise metadata_mismatch(name, value, stored.get(name))
        elif name not in stored or stored[name] != value:
            have = json_text(stored[name]) if name in stored else "<discarded>"
            raise FailedPreconditionError(
                f'Mismatch in "attributes": Expected "{name}" of {json_text(value)} but received: {have}'
            )
