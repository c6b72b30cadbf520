"""The remote image editors against a local HTTP server that speaks their documented APIs:
Gemini's `generateContent` (REST, `x-goog-api-key`, inline image parts) and OpenAI's
`/v1/images/edits` (multipart, `b64_json` answer) — what they send, what they make of the
answer, their failures, and a remix made through the queue with the remixer's Google key."""

from __future__ import annotations

import base64
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from socialhub.ai.base import AIError
from socialhub.core import storage
from socialhub.core.db import session_scope
from socialhub.identity import users
from socialhub.remix.brands import BrandLook
from socialhub.remix.models import Remix
from socialhub.remix.providers import GeminiEditor, OpenAIEditor
from tests.remix.support import person, png, remix_now, upload

BRAND = BrandLook("Acme", ("#ff6600", "#ffffff"), None)


def out_png(color=(10, 200, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buf, "PNG")
    return buf.getvalue()


class FakeGoogleOpenAI:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.status = 200
        self.reply: dict | None = None
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                server.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                        "body": raw})
                if server.status != 200:
                    body = {"error": {"code": server.status, "message": "Nope, that failed", "status": "FAILED"}}
                elif ":generateContent" in self.path:
                    body = server.reply or {"candidates": [{"content": {"role": "model", "parts": [
                        {"text": "Here is your edit."},
                        {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(out_png()).decode()}}]}}]}
                else:
                    body = server.reply or {"created": 1, "data": [{"b64_json": base64.b64encode(out_png((1, 2, 3))).decode()}]}
                data = json.dumps(body).encode()
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def fake():
    with FakeGoogleOpenAI() as server:
        yield server


def test_gemini_sends_the_image_and_prompt_and_returns_the_picture(fake):
    edited = GeminiEditor("g-key-123", base_url=fake.url()).edit(png(), "make it neon", brand=BRAND, seed=42)
    assert edited.content_type == "image/png" and Image.open(io.BytesIO(edited.data)).getpixel((1, 1)) == (10, 200, 30)
    assert edited.notes == ["Here is your edit."]
    [request] = fake.requests
    assert request["path"] == "/v1beta/models/gemini-2.5-flash-image:generateContent"
    assert request["headers"]["x-goog-api-key"] == "g-key-123"
    body = json.loads(request["body"])
    parts = body["contents"][0]["parts"]
    assert "<<<\nmake it neon\n>>>" in parts[0]["text"] and "#ff6600" in parts[0]["text"]
    assert parts[1]["inline_data"]["mime_type"] == "image/png"
    assert base64.b64decode(parts[1]["inline_data"]["data"]) == png()
    assert body["generationConfig"]["responseModalities"] == ["IMAGE", "TEXT"] and body["generationConfig"]["seed"] == 42


@pytest.mark.parametrize("status, message, retryable", [
    (403, "Google did not accept your API key", False), (429, "rate limit", True), (500, "answered 500: Nope", True),
    (400, "answered 400: Nope, that failed", False)])
def test_gemini_failures_say_what_happened(fake, status, message, retryable):
    fake.status = status
    with pytest.raises(AIError, match=message) as info:
        GeminiEditor("g-key", base_url=fake.url()).edit(png(), "x", brand=BRAND, seed=1)
    assert info.value.retryable is retryable
    assert "g-key" not in str(info.value)


def test_gemini_without_a_picture_or_with_a_fake_one_is_refused(fake):
    fake.reply = {"candidates": [{"content": {"parts": [{"text": "I can't do that"}]}}]}
    with pytest.raises(AIError, match="made no picture \\(I can't do that\\)"):
        GeminiEditor("k", base_url=fake.url()).edit(png(), "x", brand=BRAND, seed=1)
    fake.reply = {"candidates": [{"content": {"parts": [{"inlineData": {"mimeType": "image/png",
                                                                         "data": base64.b64encode(b"<html>").decode()}}]}}]}
    with pytest.raises(AIError, match="not a picture"):
        GeminiEditor("k", base_url=fake.url()).edit(png(), "x", brand=BRAND, seed=1)


def test_openai_image_edit_sends_multipart_and_reads_b64_json(fake):
    edited = OpenAIEditor("sk-test", base_url=fake.url("/v1")).edit(png(), "add confetti", brand=BRAND, seed=1)
    assert Image.open(io.BytesIO(edited.data)).getpixel((0, 0)) == (1, 2, 3)
    [request] = fake.requests
    assert request["path"] == "/v1/images/edits"
    assert request["headers"]["authorization"] == "Bearer sk-test"
    assert request["headers"]["content-type"].startswith("multipart/form-data")
    assert b'name="model"' in request["body"] and b"gpt-image-1" in request["body"]
    assert b'name="image"; filename="remix.png"' in request["body"] and b"add confetti" in request["body"]


def test_openai_errors_become_clear_messages(fake):
    fake.status = 401
    with pytest.raises(AIError, match="OpenAI did not accept your API key"):
        OpenAIEditor("sk-bad", base_url=fake.url("/v1")).edit(png(), "x", brand=BRAND, seed=1)


def test_a_remix_with_the_remixers_google_key_goes_through_gemini(shop, fake, monkeypatch):
    monkeypatch.setenv("GEMINI_BASE_URL", fake.url())
    fan = person("Fan")
    with session_scope() as session:
        users.set_provider_key(session, user_id=fan.id, provider="google", key="g-key-fan-1")
    remix_id = remix_now(fan, upload(shop), "turn it into a watercolour")
    with session_scope() as session:
        remix = session.get(Remix, remix_id)
    assert (remix.status, remix.provider, remix.model) == ("done", "gemini", "gemini-2.5-flash-image"), remix.error
    assert fake.requests[0]["headers"]["x-goog-api-key"] == "g-key-fan-1"
    assert Image.open(io.BytesIO(storage.get_storage().get(remix.output_key))).size == (64, 48)


def test_a_retryable_provider_failure_requeues_the_job(shop, fake, monkeypatch):
    monkeypatch.setenv("GEMINI_BASE_URL", fake.url())
    fake.status = 503
    fan = person("Fan")
    with session_scope() as session:
        users.set_provider_key(session, user_id=fan.id, provider="google", key="g-key-fan-1")
    remix_id = remix_now(fan, upload(shop), "neon")
    with session_scope() as session:
        remix = session.get(Remix, remix_id)
    assert remix.status == "queued" and "Trying again shortly" in remix.error
