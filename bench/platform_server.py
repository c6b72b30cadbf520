"""A fast local Bluesky-compatible server for the publishing benchmark (run as a subprocess).

    python -m bench.platform_server [--port 0] [--accounts K] [--fail-rate F] [--latency-ms L]

Speaks the two XRPC calls the Bluesky adapter makes to publish and to check: POST
`com.atproto.repo.createRecord` and GET `com.atproto.repo.getRecord`, with the PDS's answers
(a record key that exists is refused with a 500, as the reference PDS does). Accounts are
`did:plc:bench<k>` with the bearer token `bench-token-<k>`.

It counts, per record key (the idempotency key the publisher derives the key from), every
create it *received*: a second create for a key that already exists is a duplicate (the same
post sent twice), whatever the server then answers. Bench texts carry their post number, so
two different keys for one bench post also count as a duplicate.

`--fail-rate F` makes that share of creates fail before they are processed (503, or a 429
with Retry-After: 1), and a third of those failures instead *process* the create and then
drop the connection without answering (the publisher sees an unknown outcome). `--latency-ms`
delays every answer. GET /stats returns the counters and, per record key, when it was created;
GET /count just the number of records (cheap enough to poll).

A hand-written asyncio HTTP/1.1 server (keep-alive, Content-Length bodies) so that it is not
the bottleneck on a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import sys
import time
from urllib.parse import parse_qs, urlsplit

_POST_NUMBER = re.compile(r"#(\d+)\b")


class State:
    def __init__(self, accounts: int, fail_rate: float, latency_ms: float, seed: int | None) -> None:
        self.tokens = {f"bench-token-{k}": f"did:plc:bench{k}" for k in range(accounts)}
        self.fail_rate = fail_rate
        self.latency = latency_ms / 1000.0
        self.random = random.Random(seed)
        self.records: dict[tuple[str, str], dict] = {}  # (did, rkey) → record
        self.created_at: dict[str, float] = {}  # rkey → epoch seconds
        self.keys_by_post: dict[str, set[str]] = {}
        self.creates_received = 0
        self.duplicate_creates = 0
        self.failures_injected = 0
        self.dropped_after_processing = 0
        self.gets = 0


def _response(status: int, body: object, headers: dict[str, str] | None = None) -> bytes:
    payload = json.dumps(body).encode()
    reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests",
              500: "Internal Server Error", 503: "Service Unavailable"}.get(status, "OK")
    lines = [f"HTTP/1.1 {status} {reason}", "Content-Type: application/json", f"Content-Length: {len(payload)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


class Handler(asyncio.Protocol):
    state: State

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.buffer = b""
        self.queue: asyncio.Queue | None = None
        self.task = None
        if self.state.latency:  # answers are delayed: keep them in order with a queue and a task
            self.queue = asyncio.Queue()
            self.task = asyncio.get_running_loop().create_task(self.serve())

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1").split("\r\n")
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length") or 0)
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4:end + 4 + length]
            self.buffer = self.buffer[end + 4 + length:]
            method, target, _ = head[0].split(" ", 2)
            if self.queue is not None:
                self.queue.put_nowait((method, target, headers, body))
                continue
            reply = self.handle(method, target, headers, body)
            if reply is None:
                self.transport.abort()
                return
            self.transport.write(reply)

    def connection_lost(self, exc) -> None:
        if self.task is not None:
            self.task.cancel()

    async def serve(self) -> None:
        while True:
            method, target, headers, body = await self.queue.get()
            reply = self.handle(method, target, headers, body)
            if self.state.latency:
                await asyncio.sleep(self.state.latency)
            if reply is None:  # processed, then the connection drops: the client never hears back
                self.transport.abort()
                return
            self.transport.write(reply)

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> bytes | None:
        state = self.state
        url = urlsplit(target)
        if method == "GET" and url.path == "/stats":
            return _response(200, stats(state))
        if method == "GET" and url.path == "/count":
            return _response(200, {"records": len(state.records), "duplicates": state.duplicate_creates})
        token = headers.get("authorization", "").partition(" ")[2]
        did = state.tokens.get(token)
        if url.path == "/xrpc/com.atproto.repo.getRecord" and method == "GET":
            state.gets += 1
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            record = state.records.get((query.get("repo", ""), query.get("rkey", "")))
            if record is None:
                return _response(400, {"error": "RecordNotFound", "message": f"Could not locate record: {query.get('rkey')}"})
            return _response(200, record)
        if url.path == "/xrpc/com.atproto.repo.createRecord" and method == "POST":
            if did is None:
                return _response(401, {"error": "AuthenticationRequired", "message": "Authentication Required"})
            request = json.loads(body)
            rkey = request.get("rkey") or ""
            drop = False
            if state.fail_rate and state.random.random() < state.fail_rate:
                state.failures_injected += 1
                roll = state.random.random()
                if roll < 0.45:
                    return _response(503, {"error": "InternalServerError", "message": "Service Unavailable"})
                if roll < 0.67:
                    return _response(429, {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}, {"Retry-After": "1"})
                drop = True
            state.creates_received += 1
            key = (did, rkey)
            if key in state.records:
                state.duplicate_creates += 1
                return _response(500, {"error": "InternalServerError", "message": "Internal Server Error"})
            text = (request.get("record") or {}).get("text", "")
            number = _POST_NUMBER.search(text)
            if number:
                state.keys_by_post.setdefault(number.group(1), set()).add(rkey)
            uri = f"at://{did}/app.bsky.feed.post/{rkey}"
            state.records[key] = {"uri": uri, "cid": "bafy" + rkey, "value": request.get("record")}
            state.created_at[rkey] = time.time()
            if drop:
                state.dropped_after_processing += 1
                return None
            return _response(200, {"uri": uri, "cid": "bafy" + rkey, "validationStatus": "valid"})
        return _response(404, {"error": "MethodNotImplemented", "message": "Method Not Implemented"})


def stats(state: State) -> dict:
    extra_keys = sum(len(keys) - 1 for keys in state.keys_by_post.values() if len(keys) > 1)
    return {
        "creates_received": state.creates_received,
        "records": len(state.records),
        "duplicates": state.duplicate_creates + extra_keys,
        "duplicate_creates": state.duplicate_creates,
        "posts_with_several_keys": extra_keys,
        "failures_injected": state.failures_injected,
        "dropped_after_processing": state.dropped_after_processing,
        "gets": state.gets,
        "created_at": state.created_at,
    }


async def main_async(args) -> None:
    Handler.state = State(args.accounts, args.fail_rate, args.latency_ms, args.seed)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Handler, "127.0.0.1", args.port, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    print(f"http://127.0.0.1:{port}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--fail-rate", type=float, default=0.0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    try:
        asyncio.run(main_async(args))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
