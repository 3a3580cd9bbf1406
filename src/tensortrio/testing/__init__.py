"""Reusable conformance test suites (pytest) for tensortrio's interfaces."""

from .kvstore import KvStoreTests as KvStoreTests
