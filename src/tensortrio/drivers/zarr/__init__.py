"""The zarr v2 driver (TensorStore's ``zarr``)."""

from .codec import ZarrChunkCodec as ZarrChunkCodec
from .driver import ZARR_FORMAT as ZARR_FORMAT
from .driver import ZarrFormat as ZarrFormat
from .metadata import ZarrMetadata as ZarrMetadata
from .metadata import ZarrPartialMetadata as ZarrPartialMetadata
from .spec_members import ZarrSpecMembers as ZarrSpecMembers
