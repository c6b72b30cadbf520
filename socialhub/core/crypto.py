"""Encryption of secrets at rest: AES-256-GCM with key ids, so keys can rotate.

Owns the keyring (where keys come from, which one is current) and the token format. Callers
store the tokens this module returns; they never see a key.

Invariants:
- A token is ``v1.<kid>.<base64url(nonce | ciphertext+tag)>`` with a fresh random 12-byte nonce.
- ``context`` (e.g. ``"provider_key:42:openai"``) is bound as GCM associated data, so a token
  copied to another row or column does not decrypt there. It must not be empty.
- Keys come from ``SOCIALHUB_KEYS`` (``"kid:base64key,kid2:base64key"``, the first is current)
  or, when that is empty, from ``<data_dir>/keys.json``. Never from the database. With env keys
  the key file is ignored entirely, so an operator moving to env keys must carry the old ones.
- The key file is created on first use, mode 0600 from its first byte, and is only ever
  replaced whole (write a temporary file, then rename), under a lock, so a crash or two
  processes rotating at once can never lose a key. Old keys are kept: they still decrypt.
- Error messages name key ids and paths, never key material or plaintext.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import json
import logging
import os
import re
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from socialhub.core.config import get_settings

log = logging.getLogger(__name__)

TOKEN_VERSION = "v1"
KEY_FILE_NAME = "keys.json"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # the GCM standard nonce size; random per encryption
# A kid sits between dots in the token, so it may not contain one.
_KID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_URLSAFE_TO_STD = str.maketrans("-_", "+/")
ENV_SOURCE = "SOCIALHUB_KEYS"
_NEW_KEY_HINT = (
    "generate a key with: python -c \"import base64,os;"
    "print(base64.b64encode(os.urandom(32)).decode())\""
)


class CryptoError(Exception):
    """Base class for everything this module raises."""


class KeyConfigError(CryptoError):
    """SOCIALHUB_KEYS or the key file is missing, malformed, or cannot be changed."""


class UnknownKeyError(CryptoError):
    """A token names a key id that this keyring does not hold."""


class DecryptionError(CryptoError):
    """A token is malformed, was tampered with, or belongs to another context."""


@dataclass(frozen=True)
class Keyring:
    """All known keys and the id of the one new tokens are encrypted with."""

    current_kid: str
    keys: Mapping[str, bytes] = field(repr=False)  # repr=False: keys must never reach a log
    source: str  # ENV_SOURCE or the key file's path; for error messages and reloads

    def __post_init__(self) -> None:
        if self.current_kid not in self.keys:
            raise KeyConfigError(f"{self.source}: current key id {self.current_kid!r} has no key")

    def encrypt(self, plaintext: str, *, context: str) -> str:
        aad = _context_bytes(context)
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.keys[self.current_kid]).encrypt(nonce, plaintext.encode(), aad)
        body = base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")
        return f"{TOKEN_VERSION}.{self.current_kid}.{body}"

    def decrypt(self, token: str, *, context: str) -> str:
        aad = _context_bytes(context)
        kid, blob = _parse_token(token)
        key = self.keys.get(kid)
        if key is None:
            raise UnknownKeyError(f"token was encrypted with unknown key id {kid!r}")
        try:
            plaintext = AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
        except InvalidTag:
            # One message for "tampered" and "wrong context": GCM cannot tell them apart.
            raise DecryptionError(
                f"token does not decrypt with key {kid!r} in this context "
                "(tampered, or copied from another record)"
            ) from None
        return plaintext.decode()

    def needs_reencrypt(self, token: str) -> bool:
        return token_kid(token) != self.current_kid

    def reencrypt(self, token: str, *, context: str) -> str:
        return self.encrypt(self.decrypt(token, context=context), context=context)


# ---- module-level API over the process keyring ---------------------------------------------


@lru_cache(maxsize=1)
def get_keyring() -> Keyring:
    """The process keyring, loaded once from settings (env keys, else the key file)."""
    settings = get_settings()
    return load_keyring(keys=settings.keys, data_dir=settings.data_dir)


def reset_keyring_cache() -> None:
    """Forget the cached keyring; the next call loads it again (tests, after rotation)."""
    get_keyring.cache_clear()


def encrypt(plaintext: str, *, context: str) -> str:
    return get_keyring().encrypt(plaintext, context=context)


def decrypt(token: str, *, context: str) -> str:
    return _fresh_keyring_for(token).decrypt(token, context=context)


def needs_reencrypt(token: str) -> bool:
    """True when the token was not encrypted with the current key."""
    return get_keyring().needs_reencrypt(token)


def reencrypt(token: str, *, context: str) -> str:
    """Decrypt with whichever key the token names, encrypt again with the current key."""
    return _fresh_keyring_for(token).reencrypt(token, context=context)


def token_kid(token: str) -> str:
    """The key id a token was encrypted with (no decryption; raises on a malformed token)."""
    return _parse_token(token)[0]


def _fresh_keyring_for(token: str) -> Keyring:
    # Another process (the CLI, another worker) may have rotated the key file since this
    # process cached its keyring: on an unknown kid, reread the file once before failing.
    keyring = get_keyring()
    if token_kid(token) not in keyring.keys and keyring.source != ENV_SOURCE:
        reset_keyring_cache()
        keyring = get_keyring()
    return keyring


# ---- loading keys ---------------------------------------------------------------------------


def load_keyring(*, keys: str, data_dir: Path) -> Keyring:
    """A keyring from an env-style key list, or (when it is empty) from the key file."""
    if keys.strip():
        return parse_env_keys(keys)
    path = data_dir / KEY_FILE_NAME
    return _keyring_from_file(_load_or_create_key_file(path), source=str(path))


def parse_env_keys(value: str) -> Keyring:
    """Parse ``"kid:base64key,kid2:base64key"``; the first entry is the current key."""
    keys: dict[str, bytes] = {}
    for n, entry in enumerate(value.split(","), start=1):
        entry = entry.strip()
        kid, sep, encoded = entry.partition(":")
        if not sep:
            # Do not echo the entry: it may be a bare key.
            raise KeyConfigError(f"SOCIALHUB_KEYS entry {n} is not of the form 'kid:base64key'")
        kid = kid.strip()
        if not _KID_RE.match(kid):
            raise KeyConfigError(
                f"SOCIALHUB_KEYS entry {n}: key id must be 1-64 of A-Z a-z 0-9 _ -"
            )
        if kid in keys:
            raise KeyConfigError(f"SOCIALHUB_KEYS: key id {kid!r} appears twice")
        keys[kid] = _decode_key(encoded.strip(), where=f"SOCIALHUB_KEYS key {kid!r}")
    return Keyring(current_kid=next(iter(keys)), keys=keys, source=ENV_SOURCE)


def rotate_key_file() -> str:
    """Add a fresh key to the key file and make it current; returns its id.

    Old keys stay in the file so existing tokens still decrypt; re-encrypt them at leisure
    with ``needs_reencrypt``/``reencrypt``. Refused when keys come from SOCIALHUB_KEYS.
    """
    settings = get_settings()
    if settings.keys.strip():
        raise KeyConfigError(
            "keys come from SOCIALHUB_KEYS, so the key file is not used: rotate by prepending "
            f"a new 'kid:base64key' entry to SOCIALHUB_KEYS and restarting; {_NEW_KEY_HINT}"
        )
    path = settings.data_dir / KEY_FILE_NAME
    _load_or_create_key_file(path)
    with _key_file_lock(path):
        # Reread under the lock: another rotation may have just added a key.
        data = _read_key_file(path)
        _keyring_from_file(data, source=str(path))  # never rewrite a file we cannot read
        kid = _new_kid(data["keys"])
        data["keys"][kid] = _encode_key(os.urandom(KEY_BYTES))
        data["current"] = kid
        _write_key_file(path, data)
    reset_keyring_cache()
    return kid


def _load_or_create_key_file(path: Path) -> dict:
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with _key_file_lock(path):
            if not path.exists():  # someone else may have created it while we waited
                kid = _new_kid({})
                _write_key_file(
                    path, {"current": kid, "keys": {kid: _encode_key(os.urandom(KEY_BYTES))}}
                )
    return _read_key_file(path)


def _read_key_file(path: Path) -> dict:
    if path.stat().st_mode & 0o077:
        log.warning("key file %s is accessible to other users; chmod 600 it", path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data.get("keys"), dict) or not isinstance(data.get("current"), str):
            raise ValueError
    except (ValueError, AttributeError):
        raise KeyConfigError(
            f"{path}: not a SocialHub key file (expected {{\"current\": kid, \"keys\": {{...}}}})"
        ) from None
    return data


def _keyring_from_file(data: dict, *, source: str) -> Keyring:
    keys = {}
    for kid, encoded in data["keys"].items():
        if not isinstance(kid, str) or not _KID_RE.match(kid):
            raise KeyConfigError(f"{source}: invalid key id {kid!r}")
        keys[kid] = _decode_key(encoded, where=f"{source} key {kid!r}")
    return Keyring(current_kid=data["current"], keys=keys, source=source)


def _write_key_file(path: Path, data: dict) -> None:
    """Replace the key file whole. Call while holding ``_key_file_lock(path)``."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    # O_EXCL + 0o600: the file is private from the moment it exists (no chmod window).
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)  # the umask can only take bits away, but be exact anyway
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    # Make the rename itself durable: losing a key file after a crash loses every secret.
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@contextmanager
def _key_file_lock(path: Path) -> Iterator[None]:
    # A separate lock file, because the key file itself is replaced (a new inode) on write.
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


# ---- small helpers --------------------------------------------------------------------------


def _context_bytes(context: str) -> bytes:
    if not context:
        raise ValueError("context must name the record the secret belongs to")
    return context.encode()


def _parse_token(token: str) -> tuple[str, bytes]:
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3 or parts[0] != TOKEN_VERSION or not _KID_RE.match(parts[1]):
        raise DecryptionError(f"not a {TOKEN_VERSION} encrypted token")
    try:
        blob = base64.urlsafe_b64decode(parts[2] + "=" * (-len(parts[2]) % 4))
    except (binascii.Error, ValueError):
        raise DecryptionError("encrypted token body is not base64url") from None
    if len(blob) < NONCE_BYTES + 16:  # nonce + GCM tag at the least
        raise DecryptionError("encrypted token is truncated")
    return parts[1], blob


def _decode_key(encoded: object, *, where: str) -> bytes:
    if not isinstance(encoded, str):
        raise KeyConfigError(f"{where} is not a base64 string")
    try:
        # Accept the URL-safe alphabet too: people paste keys from either kind of tool.
        key = base64.b64decode(encoded.translate(_URLSAFE_TO_STD), validate=True)
    except (binascii.Error, ValueError):
        raise KeyConfigError(f"{where} is not valid base64; {_NEW_KEY_HINT}") from None
    if len(key) != KEY_BYTES:
        raise KeyConfigError(
            f"{where} must decode to {KEY_BYTES} bytes, got {len(key)}; {_NEW_KEY_HINT}"
        )
    return key


def _encode_key(key: bytes) -> str:
    return base64.b64encode(key).decode("ascii")


def _new_kid(existing: Mapping[str, object]) -> str:
    # Random rather than sequential: two hosts sharing nothing still never collide.
    while (kid := "k" + secrets.token_hex(4)) in existing:
        pass
    return kid
