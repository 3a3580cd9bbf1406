"""The n5 driver (TensorStore's ``n5``)."""

from .codec import N5ChunkCodec as N5ChunkCodec
from .compression import N5Compression as N5Compression
from .driver import N5_FORMAT as N5_FORMAT
from .driver import N5Format as N5Format
from .metadata import N5Metadata as N5Metadata
from .metadata import N5PartialMetadata as N5PartialMetadata
from .spec_members import N5SpecMembers as N5SpecMembers
