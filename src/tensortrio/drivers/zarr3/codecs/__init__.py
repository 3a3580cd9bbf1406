"""Zarr v3 codecs: the chain framework and every codec TensorStore's zarr3 driver supports,
plus zarr-python's ``vlen-utf8`` and ``vlen-bytes``."""

from .base import ArrayInfo as ArrayInfo
from .base import ArrayToArrayCodec as ArrayToArrayCodec
from .base import ArrayToBytesCodec as ArrayToBytesCodec
from .base import BytesToBytesCodec as BytesToBytesCodec
from .bytes_codec import BytesCodec as BytesCodec
from .chain import CodecChain as CodecChain
from .chain import parse_codec as parse_codec
from .chain import parse_codec_chain as parse_codec_chain
from .compression import BloscCodec as BloscCodec
from .compression import GzipCodec as GzipCodec
from .compression import ZstdCodec as ZstdCodec
from .crc32c import Crc32cCodec as Crc32cCodec
from .sharding import ShardingCodec as ShardingCodec
from .sharding import ShardLayout as ShardLayout
from .transpose import TransposeCodec as TransposeCodec
from .vlen_codec import VLenCodec as VLenCodec
