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

# --- kvstore
