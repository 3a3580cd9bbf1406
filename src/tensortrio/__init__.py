"""tensortrio: TensorStore's API on a trio actor runtime.

Importing this package starts no thread; the runtime starts on first use.
"""

from __future__ import annotations

# --- errors
from .errors import AbortedError as AbortedError
from .errors import AlreadyExistsError as AlreadyExistsError
from .errors import DataLossError as DataLossError
from .errors import FailedPreconditionError as FailedPreconditionError
from .errors import InvalidArgumentError as InvalidArgumentError
from .errors import KeyNotFoundError as KeyNotFoundError
from .errors import OutOfRangeError as OutOfRangeError
from .errors import StorageOSError as StorageOSError
from .errors import TensorTrioError as TensorTrioError
from .errors import UnimplementedError as UnimplementedError

# --- runtime (futures)
from .runtime import Future as Future
from .runtime import Promise as Promise
from .runtime import WriteFutures as WriteFutures

# --- context
from .schema.context import Context as Context

# --- index space
# isort: split
from .index import Dim as Dim
from .index import IndexDomain as IndexDomain
from .index import IndexTransform as IndexTransform
from .index import OutputIndexMap as OutputIndexMap
from .index import OutputIndexMaps as OutputIndexMaps
from .index import OutputIndexMethod as OutputIndexMethod
from .index import inf as inf
from .index import newaxis as newaxis
from .index.dim_expression import DimExpression as DimExpression
from .index.dim_expression import DimSelection as DimSelection
from .index.dim_expression import d as d

# isort: split

# --- kvstore
from .drivers.kvstore import KvStore as KvStore

# --- schema
# isort: split
from .schema.chunk_layout import ChunkLayout as ChunkLayout
from .schema.codec_spec import CodecSpec as CodecSpec
from .schema.dtype import dtype as dtype
from .schema.dtypes import bfloat16 as bfloat16
from .schema.dtypes import bool as bool
from .schema.dtypes import byte as byte
from .schema.dtypes import char as char
from .schema.dtypes import complex64 as complex64
from .schema.dtypes import complex128 as complex128
from .schema.dtypes import float4_e2m1fn as float4_e2m1fn
from .schema.dtypes import float8_e3m4 as float8_e3m4
from .schema.dtypes import float8_e4m3b11fnuz as float8_e4m3b11fnuz
from .schema.dtypes import float8_e4m3fn as float8_e4m3fn
from .schema.dtypes import float8_e4m3fnuz as float8_e4m3fnuz
from .schema.dtypes import float8_e5m2 as float8_e5m2
from .schema.dtypes import float8_e5m2fnuz as float8_e5m2fnuz
from .schema.dtypes import float8_e8m0fnu as float8_e8m0fnu
from .schema.dtypes import float16 as float16
from .schema.dtypes import float32 as float32
from .schema.dtypes import float64 as float64
from .schema.dtypes import int2 as int2
from .schema.dtypes import int4 as int4
from .schema.dtypes import int8 as int8
from .schema.dtypes import int16 as int16
from .schema.dtypes import int32 as int32
from .schema.dtypes import int64 as int64
from .schema.dtypes import json as json
from .schema.dtypes import string as string
from .schema.dtypes import uint8 as uint8
from .schema.dtypes import uint16 as uint16
from .schema.dtypes import uint32 as uint32
from .schema.dtypes import uint64 as uint64
from .schema.dtypes import ustring as ustring
from .schema.open_mode import OpenMode as OpenMode
from .schema.schema import Schema as Schema
from .schema.spec import Spec as Spec
from .schema.unit import Unit as Unit

# --- tensorstore
# isort: split
from .drivers.open import open as open
from .drivers.tensorstore import TensorStore as TensorStore

# --- virtual_chunked, array, cast, downsample, stack
# isort: split
from .drivers.array import array as array
from .drivers.cast import cast as cast
from .drivers.downsample import downsample as downsample
from .drivers.downsample_array import DownsampleMethod as DownsampleMethod
from .drivers.stack import concat as concat
from .drivers.stack import overlay as overlay
from .drivers.stack import stack as stack
from .drivers.virtual_chunked import VirtualChunkedReadParameters as VirtualChunkedReadParameters
from .drivers.virtual_chunked import VirtualChunkedWriteParameters as VirtualChunkedWriteParameters
from .drivers.virtual_chunked import virtual_chunked as virtual_chunked

# --- transactions
# isort: split
from .batch import Batch as Batch
from .transaction import Transaction as Transaction
