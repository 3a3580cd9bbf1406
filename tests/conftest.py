"""Suite-wide fixtures."""

from __future__ import annotations
