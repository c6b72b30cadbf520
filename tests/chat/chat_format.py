"""Chat's encryption format in Python (`cryptography`), exactly as assets/chat-crypto.js does it.
No tests here: tests/chat/test_format.py uses it to pin the format against the JS module."""

from __future__ import annotations

import base64
import json
import os

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap, aes_key_wrap
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SALT = b"socialhub-chat-v1"
WRAP_INFO = "socialhub-chat/wrap/v1|"
MSG_AAD = "socialhub-chat/msg/v1|"


def new_device() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def spki_b64(private_key: ec.EllipticCurvePrivateKey) -> str:
    return base64.b64encode(private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()


def pkcs8_b64(private_key: ec.EllipticCurvePrivateKey) -> str:
    return base64.b64encode(private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())).decode()


def _kek(private_key, public_spki_b64: str, conversation_id: int, epoch: int, device_id: int) -> bytes:
    public = serialization.load_der_public_key(base64.b64decode(public_spki_b64))
    shared = private_key.exchange(ec.ECDH(), public)
    info = f"{WRAP_INFO}{conversation_id}|{epoch}|{device_id}".encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=SALT, info=info).derive(shared)


def wrap(content_key: bytes, private_key, target_spki_b64: str, conversation_id: int, epoch: int, target_device_id: int) -> str:
    return base64.b64encode(aes_key_wrap(_kek(private_key, target_spki_b64, conversation_id, epoch, target_device_id),
                                         content_key)).decode()


def unwrap(wrapped_b64: str, private_key, wrapper_spki_b64: str, conversation_id: int, epoch: int, own_device_id: int) -> bytes:
    return aes_key_unwrap(_kek(private_key, wrapper_spki_b64, conversation_id, epoch, own_device_id),
                          base64.b64decode(wrapped_b64))


def aad(conversation_id: int, epoch: int) -> bytes:
    return f"{MSG_AAD}{conversation_id}|{epoch}".encode()


def encrypt(content_key: bytes, conversation_id: int, epoch: int, text: str) -> tuple[str, str]:
    iv = os.urandom(12)
    body = json.dumps({"v": 1, "text": text}, ensure_ascii=False, separators=(",", ":")).encode()
    ct = AESGCM(content_key).encrypt(iv, body, aad(conversation_id, epoch))
    return base64.b64encode(ct).decode(), base64.b64encode(iv).decode()


def decrypt(content_key: bytes, conversation_id: int, epoch: int, ciphertext_b64: str, iv_b64: str) -> str:
    body = AESGCM(content_key).decrypt(base64.b64decode(iv_b64), base64.b64decode(ciphertext_b64), aad(conversation_id, epoch))
    return json.loads(body)["text"]
