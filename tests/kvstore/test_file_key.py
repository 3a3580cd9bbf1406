"""File keys: the fast pre-check never lets through a key the full rules refuse."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tensortrio.drivers.kvstore.file_key import _problem, validate_file_key
from tensortrio.errors import InvalidArgumentError

pieces = st.sampled_from([b"a", b".", b"..", b"/", b"\\", b"\x00", b".__lock", b"x.__lo", b"ck"])
keys = st.lists(pieces, max_size=6).map(b"".join)
roots = st.sampled_from([b"", b"/r/", b"/r/x", b"rel/", b"rel", b"/"])


@given(root=roots, key=keys)
def test_validation_agrees_with_the_full_rules(root: bytes, key: bytes) -> None:
    expected_ok = _problem(root + key) is None and not (not root and key[:1] in (b"/", b"\\"))
    try:
        path = validate_file_key(root, key)
    except InvalidArgumentError:
        assert not expected_ok
    else:
        assert expected_ok
        assert path == root + key


@pytest.mark.parametrize(
    ("key", "ok"),
    [
        (b"..x", True),
        (b".x", True),
        (b"x.", True),
        (b"a.b/c", True),
        (b"...", True),
        (b"x.__locky", True),
        (b"a\\b", True),
        (b"a\\..\\b", False),
        (b"x.__lock", False),
    ],
)
def test_tensorstore_accepts_the_same_keys(key: bytes, ok: bool, tmp_path: object) -> None:
    import tensorstore

    theirs = tensorstore.KvStore.open({"driver": "file", "path": f"{tmp_path}/"}).result()
    try:
        theirs.read(key).result()
        theirs_ok = True
    except ValueError:
        theirs_ok = False
    assert theirs_ok == ok
    try:
        validate_file_key(f"{tmp_path}/".encode(), key)
        ours_ok = True
    except InvalidArgumentError:
        ours_ok = False
    assert ours_ok == ok
