"""The zarr v3 driver (TensorStore's ``zarr3``)."""

from .codec import Zarr3ChunkCodec as Zarr3ChunkCodec
from .driver import ZARR3_FORMAT as ZARR3_FORMAT
from .driver import Zarr3Format as Zarr3Format
from .metadata import Zarr3Metadata as Zarr3Metadata
from .metadata import Zarr3PartialMetadata as Zarr3PartialMetadata
from .spec_members import Zarr3SpecMembers as Zarr3SpecMembers
