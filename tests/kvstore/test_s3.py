"""The s3 driver against a real S3 server (moto): conformance suite plus S3 specifics."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import pytest

import tensortrio as ts
from tensortrio.testing import KvStoreTests

if TYPE_CHECKING:
    from .s3_server import MotoS3


def _bucket(store: ts.KvStore) -> str:
    bucket: str = store.spec().to_json()["bucket"]
    return bucket


@pytest.mark.usefixtures("s3_env")
class TestS3KvStore(KvStoreTests):
    # Separate processes reach the same server and bucket.
    shared_across_processes: ClassVar[bool] = True
    # S3 ETags are MD5s of the bytes: rewriting the same bytes keeps the generation.
    content_generations: ClassVar[bool] = True
    # An explicit endpoint has no s3:// form (TensorStore refuses it too).
    has_url: ClassVar[bool] = False

    @pytest.fixture
    def spec(self, moto_s3: MotoS3) -> Any:
        return moto_s3.spec(moto_s3.new_bucket(), path="root/")

    @pytest.fixture
    def server(self, moto_s3: MotoS3) -> MotoS3:
        return moto_s3

    def set_raw(self, store: ts.KvStore, key: bytes, value: bytes) -> None:
        self._server.put(_bucket(store), store.path + key.decode(), value)

    def get_raw(self, store: ts.KvStore, key: bytes) -> bytes | None:
        return self._server.get(_bucket(store), store.path + key.decode())

    @pytest.fixture(autouse=True)
    def _keep_server(self, moto_s3: MotoS3) -> None:
        self._server = moto_s3


@pytest.fixture
def bucket(moto_s3: MotoS3, s3_env: None) -> str:
    return moto_s3.new_bucket()


def test_repr_names_bound_resources(moto_s3: MotoS3, bucket: str) -> None:
    store = ts.KvStore.open(moto_s3.spec(bucket, path="p/")).result()
    shown = repr(store)
    assert shown.startswith("KvStore({\n")
    for line in (
        "'aws_credentials': {'type': 'default'},",
        f"'bucket': '{bucket}',",
        "'context': {'s3_request_concurrency': {}},",
        f"'endpoint': '{moto_s3.url}',",
        "'s3_request_retries': {},",
    ):
        assert f"\n  {line}\n" in shown
    assert store.spec().to_json() == {
        "driver": "s3",
        "bucket": bucket,
        "endpoint": moto_s3.url,
        "path": "p/",
    }


def test_the_server_honours_conditional_puts(moto_s3: MotoS3, bucket: str) -> None:
    # With use_conditional_write there is no HEAD check: only the server can refuse.
    store = ts.KvStore.open(moto_s3.spec(bucket, use_conditional_write=True)).result()
    first = store.write("k", b"1").result()
    store["k"] = b"2"
    assert store.write("k", b"3", if_equal=first.generation).result().generation == b""
    assert store.write("k", b"4", if_equal=b"\x02").result().generation == b""
    assert moto_s3.get(bucket, "k") == b"2"
    assert store.write("new", b"5", if_equal=b"\x02").result().generation.startswith(b'\x00"')


def test_generation_is_the_etag(moto_s3: MotoS3, bucket: str) -> None:
    import hashlib

    store = ts.KvStore.open(moto_s3.spec(bucket)).result()
    stamp = store.write("k", b"abc").result()
    assert stamp.generation == b'\x00"' + hashlib.md5(b"abc").hexdigest().encode() + b'"'


def test_list_follows_continuation_tokens(moto_s3: MotoS3, bucket: str) -> None:
    # ListObjectsV2 pages hold at most 1000 keys.
    store = ts.KvStore.open(moto_s3.spec(bucket, path="many/")).result()
    keys = [b"%05d" % i for i in range(1005)]
    futures = [store.write(k, b"") for k in keys]
    for future in futures:
        future.result()
    assert store.list().result() == keys
    assert store.list(ts.KvStore.KeyRange(b"00998", b"01002")).result() == keys[998:1002]
    store.delete_range(ts.KvStore.KeyRange(b"00010")).result()
    assert store.list().result() == keys[:10]


def test_writing_to_a_missing_bucket_names_it(moto_s3: MotoS3, s3_env: None) -> None:
    store = ts.KvStore.open(moto_s3.spec("no-such-bucket")).result()
    with pytest.raises(
        ts.errors.NotFoundError,
        match=r"^s3: PUT no-such-bucket/k: NoSuchBucket: The specified bucket does not exist "
        r"\[HTTP code 404\]$",
    ):
        store["k"] = b"v"


def test_an_unreachable_endpoint_fails_after_the_retries(s3_env: None) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once closed
    spec = {
        "driver": "s3",
        "bucket": "b-1",
        "endpoint": f"http://127.0.0.1:{port}",
        "aws_region": "us-east-1",
        "s3_request_retries": {"max_retries": 2, "initial_delay": "1ms", "max_delay": "2ms"},
    }
    store = ts.KvStore.open(spec).result()
    with pytest.raises(
        ts.AbortedError, match=r"^s3: GET b-1/k: All 2 retry attempts failed: .*"
    ) as caught:
        store.read("k").result()
    assert isinstance(caught.value.__cause__, ts.errors.UnavailableError)


def test_environment_credentials_must_be_set(
    moto_s3: MotoS3, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    spec = moto_s3.spec(bucket, aws_credentials={"type": "environment"})
    store = ts.KvStore.open(spec).result()
    with pytest.raises(
        ts.errors.NotFoundError,
        match=r"^s3: aws_credentials \{'type': 'environment'\}: AWS_ACCESS_KEY_ID is not set$",
    ):
        store.read("k").result()


def test_metadata_service_credentials_are_refused_at_open(moto_s3: MotoS3, bucket: str) -> None:
    spec = moto_s3.spec(bucket, aws_credentials={"type": "imds"})
    with pytest.raises(
        ts.errors.UnimplementedError, match=r"^s3: aws_credentials of type 'imds' .* not supported"
    ):
        ts.KvStore.open(spec).result()


def test_keys_must_be_s3_object_names(moto_s3: MotoS3, bucket: str) -> None:
    store = ts.KvStore.open(moto_s3.spec(bucket)).result()
    with pytest.raises(
        ts.errors.InvalidArgumentError, match=r"^s3: Invalid S3 object name b'\\xff'"
    ):
        store.read(b"\xff").result()
    with pytest.raises(ts.errors.InvalidArgumentError, match=r"must be 1 to 1024 bytes long$"):
        store.write(b"k" * 1025, b"").result()


# --- arrays, and tensorstore reading the same bucket


def _tensorstore_spec(moto_s3: MotoS3, bucket: str, path: str) -> dict[str, Any]:
    return {"driver": "s3", "bucket": bucket, "endpoint": moto_s3.url, "path": path}


def test_zarr3_round_trip_and_tensorstore_reads_it(moto_s3: MotoS3, bucket: str) -> None:
    import numpy as np
    import tensorstore

    data = np.arange(40 * 30, dtype="int32").reshape(40, 30)
    spec = {"driver": "zarr3", "kvstore": _tensorstore_spec(moto_s3, bucket, "a/")}
    array = ts.open(
        spec,
        create=True,
        dtype=ts.int32,
        shape=[40, 30],
        chunk_layout=ts.ChunkLayout(chunk_shape=[16, 16]),
    ).result()
    array.write(data).result()
    reopened = ts.open(spec).result()
    np.testing.assert_array_equal(reopened.read().result(), data)
    theirs = tensorstore.open(spec).result()
    np.testing.assert_array_equal(theirs.read().result(), data)
    assert moto_s3.get(bucket, "a/zarr.json") is not None


def test_we_read_what_tensorstore_writes(moto_s3: MotoS3, bucket: str) -> None:
    import numpy as np
    import tensorstore

    data = np.arange(20 * 10, dtype="uint16").reshape(20, 10)
    spec = {"driver": "zarr3", "kvstore": _tensorstore_spec(moto_s3, bucket, "b/")}
    tensorstore.open(spec, create=True, dtype="uint16", shape=[20, 10]).result().write(
        data
    ).result()
    kv = tensorstore.KvStore.open(_tensorstore_spec(moto_s3, bucket, "kv/")).result()
    kv["x"] = b"from tensorstore"
    np.testing.assert_array_equal(ts.open(spec).result().read().result(), data)
    ours = ts.KvStore.open(_tensorstore_spec(moto_s3, bucket, "kv/")).result()
    result = ours.read("x").result()
    assert result.value == b"from tensorstore"
    # The same object, the same generation in both libraries.
    assert result.stamp.generation == kv.read("x").result().stamp.generation
    assert ours.list().result() == kv.list().result()


def test_values_beyond_the_put_limit_are_refused(
    moto_s3: MotoS3, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tensortrio.drivers.kvstore import s3_operations

    monkeypatch.setattr(s3_operations, "MAX_PUT_BYTES", 4)  # 5 GiB in S3
    store = ts.KvStore.open(moto_s3.spec(bucket)).result()
    with pytest.raises(
        ts.errors.InvalidArgumentError,
        match=rf"^s3: PUT {bucket}/k: Object size 5 exceeds S3 limit of 4$",
    ):
        store["k"] = b"12345"
    assert moto_s3.get(bucket, "k") is None


def test_the_command_ingests_into_s3_and_describes_the_array(
    moto_s3: MotoS3, bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from tensortrio.cli.main import main

    spec = moto_s3.spec(bucket, path="frames/")
    text = json.dumps(spec)
    assert main(["ingest", "synthetic:6", text, "--frame-shape", "8,8", "--dtype", "uint16"]) == 0
    capsys.readouterr()
    assert main(["info", text]) == 0
    out = capsys.readouterr().out
    # No s3:// URL names a store with an endpoint: the kvstore is shown as its spec.
    assert f'kvstore:     {{"bucket": "{bucket}", "driver": "s3", "endpoint": "{moto_s3.url}"' in out
    assert "shape:       [6, 8, 8]" in out
    assert ts.open({"driver": "zarr3", "kvstore": spec}).result().shape == (6, 8, 8)


def test_keys_with_control_characters_spaces_and_escapes_are_listed(
    moto_s3: MotoS3, bucket: str
) -> None:
    # XML 1.0 cannot carry "\x01": without encoding-type=url, S3 sends a page
    # no XML parser reads, and every listing of the prefix failed.
    store = ts.KvStore.open(moto_s3.spec(bucket, path="p/")).result()
    keys = [b"a\x01b", b"with space", b"plus+sign", b"per%25cent", "ü/ñ".encode(), b"q?x#y"]
    for key in keys:
        store[key] = key
    assert store.list().result() == sorted(keys)
    assert store.list(ts.KvStore.KeyRange(b"p", b"q")).result() == [b"per%25cent", b"plus+sign"]
    store.delete_range(ts.KvStore.KeyRange(b"a", b"b")).result()
    assert store.read(b"a\x01b").result().state == "missing"
    assert store.list().result() == sorted(keys[1:])


def test_a_range_error_names_the_s3_object(moto_s3: MotoS3, bucket: str) -> None:
    store = ts.KvStore.open(moto_s3.spec(bucket)).result()
    store["empty"] = b""
    with pytest.raises(ts.errors.OutOfRangeError, match=rf"^s3: {bucket}/empty: Requested byte range \[-1, \?\) is not valid for value of size 0$"):
        store.read("empty", byte_range=slice(-1, None)).result()
