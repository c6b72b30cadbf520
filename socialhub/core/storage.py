"""Media storage: where uploaded and generated files live, behind one small protocol.

Owns the ``Storage`` protocol, its two backends (a local folder, the default; any
S3-compatible store through boto3) and the shape of storage keys.

Invariants:
- Keys are made by ``new_media_key``: random, no user-controlled path parts, an allow-listed
  lower-case extension. Every backend re-checks any key it is given (``check_key``): ``/``
  separated segments of ``A-Z a-z 0-9 . _ -`` that start with a letter or digit, so ``..``,
  absolute paths, backslashes, NUL and empty keys are refused with ``ValueError``.
- ``get`` of a missing object raises ``FileNotFoundError`` in every backend; ``delete`` of a
  missing object is a no-op (S3 cannot tell the difference cheaply, and cleanup jobs retry).
- A local ``put`` writes a temporary file and renames it, so readers never see half a file.
- Large files move as streams: ``put_file`` copies a file object in chunks (S3's
  ``upload_fileobj`` does multipart uploads), and the local backend's ``path`` lets the web app
  serve a file without reading it whole.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from socialhub.core.config import get_settings

PRESIGNED_URL_SECONDS = 3600
COPY_CHUNK_BYTES = 1024 * 1024
MAX_KEY_LENGTH = 512
# Media we accept; anything else is refused before a key exists for it.
ALLOWED_EXTENSIONS = frozenset(
    {"jpg", "jpeg", "png", "gif", "webp", "avif", "mp4", "webm", "mov", "mp3", "m4a", "ogg", "wav"}
)
_SEGMENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_NOT_FOUND_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


@runtime_checkable
class Storage(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def put_file(self, key: str, fileobj: BinaryIO, content_type: str) -> None: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...

    def url(self, key: str) -> str: ...


def new_media_key(filename_ext: str) -> str:
    """A fresh random key such as ``3f/9a0c…e1.png``; the two-character folder keeps
    directories small. Raises ValueError for an extension not in ALLOWED_EXTENSIONS."""
    ext = filename_ext.strip().lstrip(".").lower()
    if ext not in ALLOWED_EXTENSIONS:
        raise ValueError(f"file type {ext[:16]!r} is not allowed")
    token = secrets.token_hex(16)
    return f"{token[:2]}/{token[2:]}.{ext}"


def check_key(key: str) -> str:
    """Return the key unchanged if it is safe to use as a path and an object name."""
    if (
        not isinstance(key, str)
        or not key
        or len(key) > MAX_KEY_LENGTH
        or not all(_SEGMENT_RE.match(segment) for segment in key.split("/"))
    ):
        raise ValueError(f"invalid storage key {str(key)[:80]!r}")
    return key


class LocalStorage:
    """Files under one root folder, served by the web app at ``<url_prefix>/<key>``."""

    def __init__(self, root: Path | str | None = None, *, url_prefix: str = "/media") -> None:
        self.root = Path(root if root is not None else get_settings().media_dir).resolve()
        self.url_prefix = url_prefix.rstrip("/")

    def _path(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        # Belt and braces after check_key: a symlink inside the root must not lead out of it.
        if not path.is_relative_to(self.root):
            raise ValueError(f"invalid storage key {key[:80]!r}")
        return path

    def put(self, key: str, data: bytes, content_type: str) -> None:
        # content_type is not stored: the web server derives it from the allow-listed extension.
        self._write(key, lambda out: out.write(data))

    def put_file(self, key: str, fileobj: BinaryIO, content_type: str) -> None:
        """Store what is left to read of ``fileobj``, copied in chunks (never whole in memory)."""
        self._write(key, lambda out: shutil.copyfileobj(fileobj, out, COPY_CHUNK_BYTES))

    def _write(self, key: str, write) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        try:
            with open(tmp, "wb") as out:
                write(out)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def path(self, key: str) -> Path:
        """The stored file's path (for serving it as a stream); FileNotFoundError if there is none."""
        path = self._path(key)
        if not path.is_file():  # a folder is not an object either
            raise FileNotFoundError(f"no stored object {key!r}")
        return path

    def get(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def url(self, key: str) -> str:
        return f"{self.url_prefix}/{check_key(key)}"


class S3Storage:
    """Objects in one bucket of any S3-compatible store; URLs are presigned GETs."""

    def __init__(self, bucket: str, endpoint_url: str | None = None, region: str = "us-east-1"):
        self.bucket = bucket
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=region,
            config=Config(
                signature_version="s3v4",
                # Custom endpoints (MinIO, moto, Garage…) rarely have wildcard DNS per bucket.
                s3={"addressing_style": "path" if endpoint_url else "auto"},
            ),
        )

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(
            Bucket=self.bucket, Key=check_key(key), Body=data, ContentType=content_type
        )

    def put_file(self, key: str, fileobj: BinaryIO, content_type: str) -> None:
        """Store what is left to read of ``fileobj``; boto3 streams it (multipart when large)."""
        self.client.upload_fileobj(
            fileobj, self.bucket, check_key(key), ExtraArgs={"ContentType": content_type}
        )

    def get(self, key: str) -> bytes:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=check_key(key))
        except ClientError as exc:
            if _is_not_found(exc):
                raise FileNotFoundError(f"no stored object {key!r}") from None
            raise
        return response["Body"].read()

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=check_key(key))

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=check_key(key))
        except ClientError as exc:
            if _is_not_found(exc):
                return False
            raise
        return True

    def url(self, key: str) -> str:
        return self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": check_key(key)},
            ExpiresIn=PRESIGNED_URL_SECONDS,
        )


def _is_not_found(exc: ClientError) -> bool:
    # get_object says "NoSuchKey"; head_object has no body, so only the status "404".
    return str(exc.response.get("Error", {}).get("Code")) in _NOT_FOUND_CODES


@lru_cache(maxsize=1)
def get_storage() -> Storage:
    """S3 when S3_BUCKET is set, else the local media folder. Cached: boto3 clients are
    slow to build and thread-safe; call ``get_storage.cache_clear()`` after changing settings."""
    settings = get_settings()
    if settings.s3_bucket:
        return S3Storage(settings.s3_bucket, settings.s3_endpoint_url, settings.s3_region)
    return LocalStorage(settings.media_dir)
