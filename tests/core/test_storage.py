"""socialhub.integrations.storage: the local folder and S3 (a real moto server) behave alike."""

from __future__ import annotations

import io
import re
import socket
import uuid
from urllib.parse import parse_qs, urlparse

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from socialhub.core import config
from socialhub.core import storage
from socialhub.core.storage import LocalStorage, S3Storage

ESCAPING_KEYS = [
    "",
    "../secret",
    "a/../../secret",
    "..",
    "/etc/passwd",
    "a\\..\\b",
    "a\x00b",
    "a//b",
    "a/",
    ".hidden",
    "a/./b",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    """A moto S3 server on 127.0.0.1 with fake credentials in the environment."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": "/nonexistent",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
        }.items():
            mp.setenv(name, value)
        port = _free_port()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.stop()


@pytest.fixture
def s3(s3_endpoint) -> S3Storage:
    bucket = f"media-{uuid.uuid4().hex[:12]}"  # a bucket per test: no shared objects
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(
        Bucket=bucket
    )
    return S3Storage(bucket, s3_endpoint, "us-east-1")


@pytest.fixture
def local(tmp_path) -> LocalStorage:
    return LocalStorage(tmp_path / "media")


@pytest.fixture(params=["local", "s3"])
def backend(request) -> storage.Storage:
    return request.getfixturevalue(request.param)


# ---- behaviour shared by both backends --------------------------------------------------


def test_put_then_get_returns_the_same_bytes(backend):
    key = storage.new_media_key("png")
    data = bytes(range(256)) * 100
    backend.put(key, data, "image/png")
    assert backend.exists(key)
    assert backend.get(key) == data


def test_put_overwrites_an_existing_object(backend):
    key = storage.new_media_key("jpg")
    backend.put(key, b"first", "image/jpeg")
    backend.put(key, b"second", "image/jpeg")
    assert backend.get(key) == b"second"


def test_delete_removes_the_object_and_is_idempotent(backend):
    key = storage.new_media_key("mp4")
    backend.put(key, b"video", "video/mp4")
    backend.delete(key)
    assert not backend.exists(key)
    backend.delete(key)  # already gone: no error


def test_missing_object_raises_file_not_found(backend):
    key = storage.new_media_key("png")
    assert not backend.exists(key)
    with pytest.raises(FileNotFoundError):
        backend.get(key)


@pytest.mark.parametrize("key", ESCAPING_KEYS)
@pytest.mark.parametrize("method", ["put", "put_file", "get", "delete", "exists", "url"])
def test_keys_that_could_escape_are_refused(backend, key, method):
    args = {"put": (key, b"x", "text/plain"), "put_file": (key, io.BytesIO(b"x"), "text/plain")}.get(method, (key,))
    with pytest.raises(ValueError, match="invalid storage key"):
        getattr(backend, method)(*args)


class ChunkOnlyReader(io.BytesIO):
    """A file object that refuses to be read whole: streaming code must ask for chunks."""

    def read(self, size=-1):
        if size is None or size < 0 or size > 16 * 1024 * 1024:
            raise AssertionError(f"read({size}) would load the whole file into memory")
        return super().read(size)


def test_put_file_copies_a_file_object_in_chunks(backend):
    key = storage.new_media_key("mp4")
    data = bytes(range(256)) * (12 * 1024)  # 3 MB
    backend.put_file(key, ChunkOnlyReader(data), "video/mp4")
    assert backend.get(key) == data


# ---- local ------------------------------------------------------------------------------


def test_local_put_file_that_fails_midway_leaves_nothing(local, tmp_path):
    class Broken(io.BytesIO):
        def read(self, size=-1):
            if self.tell() >= 1024 * 1024:
                raise OSError("connection lost")
            return super().read(size)

    key = storage.new_media_key("mp4")
    with pytest.raises(OSError):
        local.put_file(key, Broken(bytes(4 * 1024 * 1024)), "video/mp4")
    assert not local.exists(key)
    assert not [p for p in (tmp_path / "media").rglob("*") if p.is_file()], "partial files left behind"


def test_local_path_is_the_stored_file_and_missing_is_not_found(local):
    key = storage.new_media_key("png")
    local.put(key, b"img", "image/png")
    assert local.path(key).read_bytes() == b"img"
    with pytest.raises(FileNotFoundError):
        local.path(storage.new_media_key("png"))


def test_local_files_live_under_the_root_and_url_is_under_media(local, tmp_path):
    key = storage.new_media_key("webp")
    local.put(key, b"img", "image/webp")
    assert (tmp_path / "media" / key).read_bytes() == b"img"
    assert local.url(key) == f"/media/{key}"
    assert not list((tmp_path / "media").rglob("*.tmp")), "temporary files left behind"


def test_local_refuses_a_symlink_that_leads_out_of_the_root(local, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.png").write_bytes(b"secret")
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "ab").symlink_to(outside)
    with pytest.raises(ValueError):
        local.get("ab/secret.png")


def test_local_root_defaults_to_the_media_dir_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCIALHUB_DATA_DIR", str(tmp_path / "data"))
    config.get_settings.cache_clear()
    try:
        assert LocalStorage().root == (tmp_path / "data" / "media").resolve()
    finally:
        config.get_settings.cache_clear()


# ---- S3 ---------------------------------------------------------------------------------


def test_s3_presigned_url_serves_the_object_for_one_hour(s3):
    key = storage.new_media_key("png")
    s3.put(key, b"\x89PNG fake", "image/png")

    url = s3.url(key)

    assert parse_qs(urlparse(url).query)["X-Amz-Expires"] == ["3600"]
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200
    assert response.content == b"\x89PNG fake"
    assert response.headers["content-type"] == "image/png"


def test_s3_put_file_streams_through_upload_fileobj(s3, monkeypatch):
    calls = []
    real = s3.client.upload_fileobj
    monkeypatch.setattr(s3.client, "upload_fileobj", lambda *a, **kw: calls.append(kw) or real(*a, **kw))
    key = storage.new_media_key("mp4")
    data = bytes(range(256)) * (40 * 1024)  # 10 MB: a multipart upload
    s3.put_file(key, ChunkOnlyReader(data), "video/mp4")
    assert calls and calls[0]["ExtraArgs"] == {"ContentType": "video/mp4"}
    assert s3.get(key) == data
    head = s3.client.head_object(Bucket=s3.bucket, Key=key)
    assert head["ContentType"] == "video/mp4"


def test_s3_url_without_its_signature_is_refused(s3):
    key = storage.new_media_key("png")
    s3.put(key, b"private", "image/png")
    bare = s3.url(key).split("?")[0]
    assert httpx.get(bare, timeout=10).status_code == 403


# ---- keys and selection -----------------------------------------------------------------


def test_new_media_key_is_random_two_level_and_lower_cases_the_extension():
    keys = {storage.new_media_key(".PNG") for _ in range(100)}
    assert len(keys) == 100
    for key in keys:
        assert re.fullmatch(r"[0-9a-f]{2}/[0-9a-f]{30}\.png", key)
        assert storage.check_key(key) == key


@pytest.mark.parametrize("ext", ["exe", "html", "svg", "png/../x", "", "php.png"])
def test_new_media_key_refuses_extensions_outside_the_allow_list(ext):
    with pytest.raises(ValueError, match="not allowed"):
        storage.new_media_key(ext)


def test_get_storage_picks_s3_when_a_bucket_is_set_else_local(tmp_path, monkeypatch, s3_endpoint):
    monkeypatch.setenv("SOCIALHUB_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("S3_BUCKET", raising=False)
    config.get_settings.cache_clear()
    storage.get_storage.cache_clear()
    try:
        chosen = storage.get_storage()
        assert isinstance(chosen, LocalStorage)
        assert chosen.root == (tmp_path / "media").resolve()

        monkeypatch.setenv("S3_BUCKET", "the-bucket")
        monkeypatch.setenv("S3_ENDPOINT_URL", s3_endpoint)
        config.get_settings.cache_clear()
        storage.get_storage.cache_clear()
        chosen = storage.get_storage()
        assert isinstance(chosen, S3Storage)
        assert chosen.bucket == "the-bucket"
        assert chosen.url("ab/cd.png").startswith(f"{s3_endpoint}/the-bucket/ab/cd.png?")
    finally:
        config.get_settings.cache_clear()
        storage.get_storage.cache_clear()
