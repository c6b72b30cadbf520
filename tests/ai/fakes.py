"""Local HTTP servers speaking the OpenAI and Anthropic APIs, for the AI provider tests.

    with FakeAI() as server:
        OpenAIText("sk-test", base_url=server.url("/v1"))      # chat completions, images
        AnthropicText("sk-ant", base_url=server.url(""))       # messages
        server.fail_with = (401, "Incorrect API key")           # every request fails so
        server.requests                                         # what the SDKs sent

Replies depend on what was asked (summary, points, hashtags, title), so tests can check that
each provider method asks for its job and parses the answer.
"""

from __future__ import annotations

import base64
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def png_bytes() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 4), (91, 91, 214)).save(out, format="PNG")
    return out.getvalue()


def reply_for(prompt: str) -> str:
    if "Summarise" in prompt:
        return "Robots learned to fold laundry, and a fast Rust release shipped."
    if "most important points" in prompt:
        return "Here are the points:\n1. Robots fold laundry\n2) Rust builds got faster\n- Cargo has lint tables\n\n• Closures come next"
    if "hashtags" in prompt:
        return "#Robots #open_source rust, #AI"
    if "title" in prompt:
        return '"Robots and Rust: your day"\nSecond line ignored'
    return "ok"


class FakeAI:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.fail_with: tuple[int, str] | None = None
        self.image_reply: dict | None = None
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
                with server._lock:
                    server.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                            "json": body})
                if server.fail_with:
                    status, message = server.fail_with
                    if self.path.endswith("/messages"):
                        payload = {"type": "error", "error": {"type": "authentication_error", "message": message}}
                    else:
                        payload = {"error": {"message": message, "type": "invalid_request_error", "code": None}}
                    return self._json(status, payload)
                if self.path.endswith("/chat/completions"):
                    prompt = body["messages"][-1]["content"]
                    return self._json(200, {
                        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": body["model"],
                        "choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant", "content": reply_for(prompt)}}],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})
                if self.path.endswith("/images/generations"):
                    return self._json(200, server.image_reply or {
                        "created": 1, "data": [{"b64_json": base64.b64encode(png_bytes()).decode()}]})
                if self.path.endswith("/messages"):
                    prompt = body["messages"][-1]["content"]
                    return self._json(200, {
                        "id": "msg_1", "type": "message", "role": "assistant", "model": body["model"],
                        "content": [{"type": "text", "text": reply_for(prompt)}], "stop_reason": "end_turn",
                        "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 1}})
                return self._json(404, {"error": {"message": "no such route"}})

            def _json(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}{path}"

    def __enter__(self) -> FakeAI:
        threading.Thread(target=self._httpd.serve_forever, daemon=True, kwargs={"poll_interval": 0.05}).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
