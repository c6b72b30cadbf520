"""socialhub.crypto: AES-GCM tokens, the key file, env keys and rotation."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import socialhub
from socialhub.core import config, crypto
from socialhub.core.crypto import DecryptionError, KeyConfigError, UnknownKeyError


def _key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def _reset() -> None:
    config.get_settings.cache_clear()
    crypto.reset_keyring_cache()


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    """A fresh data dir with no env keys: the key file path is in use."""
    path = tmp_path / "data"
    monkeypatch.setenv("SOCIALHUB_DATA_DIR", str(path))
    monkeypatch.delenv("SOCIALHUB_KEYS", raising=False)
    _reset()
    yield path
    _reset()


@pytest.fixture
def env_keys(data_dir, monkeypatch) -> str:
    value = f"new:{_key()},old:{_key()}"
    monkeypatch.setenv("SOCIALHUB_KEYS", value)
    _reset()
    return value


# ---- tokens -------------------------------------------------------------------------------


def test_roundtrip_returns_the_plaintext_in_v1_token_format(data_dir):
    token = crypto.encrypt("sk-secret", context="provider_key:42:openai")
    version, kid, body = token.split(".")
    assert (version, kid) == ("v1", crypto.get_keyring().current_kid)
    assert "sk-secret" not in token
    assert len(base64.urlsafe_b64decode(body + "==")) == 12 + len("sk-secret") + 16
    assert crypto.decrypt(token, context="provider_key:42:openai") == "sk-secret"


def test_same_plaintext_encrypts_differently_each_time(data_dir):
    assert crypto.encrypt("x", context="c") != crypto.encrypt("x", context="c")


@pytest.mark.parametrize(
    "plaintext",
    ["", "héllo wörld – 你好 – 🔐", "\x00binary-ish\nlines", "a" * 1_000_000],
    ids=["empty", "unicode", "control-chars", "one-megabyte"],
)
def test_roundtrip_of_unusual_and_large_plaintexts(data_dir, plaintext):
    token = crypto.encrypt(plaintext, context="message:7")
    assert crypto.decrypt(token, context="message:7") == plaintext


def test_token_copied_to_another_context_does_not_decrypt(data_dir):
    token = crypto.encrypt("sk-secret", context="provider_key:42:openai")
    with pytest.raises(DecryptionError) as info:
        crypto.decrypt(token, context="provider_key:43:openai")
    assert "sk-secret" not in str(info.value)


def test_empty_context_is_refused(data_dir):
    with pytest.raises(ValueError):
        crypto.encrypt("x", context="")


def test_tampered_ciphertext_does_not_decrypt(data_dir):
    token = crypto.encrypt("pay alice 10", context="c")
    version, kid, body = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    raw[15] ^= 0x01  # flip one bit of the ciphertext, after the 12-byte nonce
    tampered = f"{version}.{kid}.{base64.urlsafe_b64encode(bytes(raw)).decode().rstrip('=')}"
    with pytest.raises(DecryptionError):
        crypto.decrypt(tampered, context="c")


@pytest.mark.parametrize(
    "token", ["", "plain text", "v2.k1.AAAA", "v1.k1", "v1.k.1.AAAA", "v1.k1.!!!!", "v1.k1.AAAA"]
)
def test_malformed_tokens_raise_decryption_error(data_dir, token):
    with pytest.raises(DecryptionError):
        crypto.decrypt(token, context="c")


def test_token_with_unknown_key_id_raises_unknown_key_error(data_dir):
    token = crypto.encrypt("x", context="c")
    _, _, body = token.split(".")
    with pytest.raises(UnknownKeyError, match="'nosuchkey'"):
        crypto.decrypt(f"v1.nosuchkey.{body}", context="c")


# ---- key file ---------------------------------------------------------------------------


def test_key_file_is_created_on_first_use_with_mode_0600(data_dir):
    old_umask = os.umask(0)  # the most permissive umask: the file must still be private
    try:
        crypto.encrypt("x", context="c")
    finally:
        os.umask(old_umask)
    key_file = data_dir / "keys.json"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    data = json.loads(key_file.read_text())
    assert list(data["keys"]) == [data["current"]]
    assert len(base64.b64decode(data["keys"][data["current"]])) == 32
    assert not list(data_dir.glob("*.tmp")), "temporary files left behind"


def test_key_file_is_reused_by_a_later_keyring(data_dir):
    token = crypto.encrypt("still here", context="c")
    before = (data_dir / "keys.json").read_bytes()
    _reset()  # as a new process would
    assert crypto.decrypt(token, context="c") == "still here"
    assert (data_dir / "keys.json").read_bytes() == before


def test_keyrings_created_concurrently_agree_on_one_key(data_dir):
    keyrings, barrier = [], threading.Barrier(8)

    def load():
        barrier.wait()
        keyrings.append(crypto.load_keyring(keys="", data_dir=data_dir))

    threads = [threading.Thread(target=load) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({(k.current_kid, k.keys[k.current_kid]) for k in keyrings}) == 1


def test_corrupt_key_file_gives_a_clear_error_without_overwriting_it(data_dir):
    data_dir.mkdir(parents=True)
    (data_dir / "keys.json").write_text("{not json")
    with pytest.raises(KeyConfigError, match="keys.json"):
        crypto.get_keyring()
    assert (data_dir / "keys.json").read_text() == "{not json"


# ---- rotation ---------------------------------------------------------------------------


def test_rotation_keeps_old_tokens_decryptable_and_encrypts_with_the_new_key(data_dir):
    old_token = crypto.encrypt("before", context="c")
    old_kid = crypto.token_kid(old_token)

    new_kid = crypto.rotate_key_file()

    assert new_kid != old_kid
    assert crypto.get_keyring().current_kid == new_kid
    assert crypto.decrypt(old_token, context="c") == "before"
    assert crypto.token_kid(crypto.encrypt("after", context="c")) == new_kid
    key_file = data_dir / "keys.json"
    assert set(json.loads(key_file.read_text())["keys"]) == {old_kid, new_kid}
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_needs_reencrypt_and_reencrypt_move_tokens_to_the_current_key(data_dir):
    old_token = crypto.encrypt("secret", context="row:1")
    assert not crypto.needs_reencrypt(old_token)

    crypto.rotate_key_file()

    assert crypto.needs_reencrypt(old_token)
    new_token = crypto.reencrypt(old_token, context="row:1")
    assert not crypto.needs_reencrypt(new_token)
    assert crypto.decrypt(new_token, context="row:1") == "secret"
    with pytest.raises(DecryptionError):
        crypto.reencrypt(old_token, context="row:2")  # the context still binds


def test_key_rotated_by_another_process_is_picked_up_on_decrypt(data_dir):
    crypto.encrypt("warm the cache", context="c")
    repo_root = Path(socialhub.__file__).resolve().parent.parent
    other = subprocess.run(
        [sys.executable, "-c",
         "from socialhub.core import crypto; crypto.rotate_key_file();"
         "print(crypto.encrypt('from elsewhere', context='c'))"],
        env={**os.environ, "PYTHONPATH": str(repo_root)},
        capture_output=True, text=True, check=True, timeout=60,
    )
    token = other.stdout.strip()
    assert crypto.token_kid(token) not in crypto.get_keyring().keys  # this process is stale
    assert crypto.decrypt(token, context="c") == "from elsewhere"


# ---- env keys ---------------------------------------------------------------------------


def test_env_keys_take_precedence_over_the_key_file(data_dir, monkeypatch):
    file_token = crypto.encrypt("from the file", context="c")
    assert (data_dir / "keys.json").exists()

    monkeypatch.setenv("SOCIALHUB_KEYS", f"new:{_key()},old:{_key()}")
    _reset()

    keyring = crypto.get_keyring()
    assert (keyring.current_kid, set(keyring.keys)) == ("new", {"new", "old"})
    assert crypto.token_kid(crypto.encrypt("x", context="c")) == "new"
    with pytest.raises(UnknownKeyError):  # the file is not consulted at all
        crypto.decrypt(file_token, context="c")


def test_env_keys_never_create_a_key_file(data_dir, env_keys):
    crypto.encrypt("x", context="c")
    assert not (data_dir / "keys.json").exists()


def test_env_keys_decrypt_tokens_of_older_listed_keys(data_dir, monkeypatch):
    old_key = _key()
    monkeypatch.setenv("SOCIALHUB_KEYS", f"old:{old_key}")
    _reset()
    token = crypto.encrypt("kept", context="c")

    monkeypatch.setenv("SOCIALHUB_KEYS", f"new:{_key()},old:{old_key}")  # operator rotates
    _reset()
    assert crypto.needs_reencrypt(token)
    assert crypto.decrypt(token, context="c") == "kept"


def test_rotation_is_refused_when_keys_come_from_the_environment(data_dir, env_keys):
    with pytest.raises(KeyConfigError, match="prepending"):
        crypto.rotate_key_file()
    assert not (data_dir / "keys.json").exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("c2VjcmV0", "not of the form"),
        ("k1:not base64!!", "not valid base64"),
        (f"k1:{base64.b64encode(b'short').decode()}", "32 bytes, got 5"),
        (f"bad.kid:{_key()}", "key id"),
        (f"k1:{_key()},k1:{_key()}", "appears twice"),
        (f"k1:{_key()},", "not of the form"),
    ],
    ids=["no-kid", "not-base64", "wrong-length", "dot-in-kid", "duplicate", "trailing-comma"],
)
def test_bad_env_keys_give_a_clear_error_that_hides_the_key(data_dir, monkeypatch, value, message):
    monkeypatch.setenv("SOCIALHUB_KEYS", value)
    _reset()
    with pytest.raises(KeyConfigError, match=message) as info:
        crypto.get_keyring()
    secret_part = value.partition(":")[2] or value
    assert secret_part.split(",")[0] not in str(info.value)


def test_env_keys_accept_the_url_safe_base64_alphabet(data_dir, monkeypatch):
    raw = bytes([0xFB, 0xFF] * 16)  # encodes with '+' and '/' in standard base64
    monkeypatch.setenv("SOCIALHUB_KEYS", f"k1:{base64.urlsafe_b64encode(raw).decode()}")
    _reset()
    assert crypto.get_keyring().keys["k1"] == raw


def test_keyring_repr_does_not_show_keys(data_dir, env_keys):
    keyring = crypto.get_keyring()
    assert base64.b64encode(keyring.keys["new"]).decode() not in repr(keyring)
    assert repr(keyring.keys["new"]) not in repr(keyring)
