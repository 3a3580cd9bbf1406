"""The ``tensortrio`` command: ``ingest``, ``copy``, ``info`` and ``demo``."""

from .main import main as main
