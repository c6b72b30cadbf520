"""OpenAI through its official SDK: chat completions for text, the Images API for pictures.

`base_url` points the SDK at any server speaking the same API (a self-hosted gateway, or a
local fake in tests). Every SDK error becomes an `AIError` whose message names the provider
and says what to do; the key never appears in it.
"""

from __future__ import annotations

import base64

import httpx
import openai

from socialhub.core import egress

from .base import MAX_IMAGE_BYTES, AIError, RemoteTextModel, image_kind

DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_IMAGE_MODEL = "gpt-image-1"
TIMEOUT_S = 60.0


def _client(api_key: str, base_url: str | None, timeout: float) -> openai.OpenAI:
    return openai.OpenAI(api_key=api_key, base_url=base_url or None, timeout=timeout, max_retries=1,
                         http_client=egress.sdk_client(timeout=timeout))


def _error(exc: Exception) -> AIError:
    if isinstance(exc, openai.AuthenticationError):
        return AIError("OpenAI did not accept your API key. Check it in Settings → AI provider keys.")
    if isinstance(exc, openai.RateLimitError):
        return AIError("OpenAI says you are over your rate limit or quota. Try again later.", retryable=True)
    if isinstance(exc, openai.APITimeoutError):
        return AIError("OpenAI did not answer in time. Try again later.", retryable=True)
    if isinstance(exc, openai.APIConnectionError):
        return AIError("OpenAI could not be reached. Try again later.", retryable=True)
    if isinstance(exc, openai.APIStatusError):
        message = getattr(exc, "message", "") or ""
        return AIError(f"OpenAI answered {exc.status_code}: {message[:200]}", retryable=exc.status_code >= 500)
    return AIError(f"OpenAI failed: {type(exc).__name__}.")


class OpenAIText(RemoteTextModel):
    name = "openai"

    def __init__(self, api_key: str, *, base_url: str | None = None, model: str | None = None,
                 timeout: float = TIMEOUT_S) -> None:
        self.model = model or DEFAULT_MODEL
        self.label = f"OpenAI {self.model}"
        self._client = _client(api_key, base_url, timeout)

    def complete(self, prompt: str, *, system: str = "", max_tokens: int = 400) -> str:
        messages = ([{"role": "system", "content": system}] if system else []) + [
            {"role": "user", "content": prompt}]
        try:
            response = self._client.chat.completions.create(model=self.model, messages=messages,
                                                            max_tokens=max_tokens)
        except openai.OpenAIError as exc:
            raise _error(exc) from exc
        if not response.choices:
            raise AIError("OpenAI sent an empty answer.", retryable=True)
        return (response.choices[0].message.content or "").strip()


class OpenAIImage:
    name = "openai"

    def __init__(self, api_key: str, *, base_url: str | None = None, model: str | None = None,
                 timeout: float = TIMEOUT_S) -> None:
        self.model = model or DEFAULT_IMAGE_MODEL
        self.label = f"OpenAI {self.model}"
        self._client = _client(api_key, base_url, timeout)
        self._timeout = timeout

    def generate_image(self, prompt: str, *, size: str = "1536x1024") -> bytes | None:
        try:
            response = self._client.images.generate(model=self.model, prompt=prompt[:1000], size=size, n=1)
        except openai.OpenAIError as exc:
            raise _error(exc) from exc
        if not response.data:
            return None
        first = response.data[0]
        if first.b64_json:
            try:
                data = base64.b64decode(first.b64_json, validate=True)
            except ValueError as exc:
                raise AIError("OpenAI sent an image that could not be decoded.") from exc
        elif first.url and first.url.startswith("https://"):
            data = _download(first.url, self._timeout)
        else:
            return None
        if len(data) > MAX_IMAGE_BYTES or image_kind(data) is None:
            raise AIError("OpenAI sent something that is not a PNG, JPEG or WebP image.")
        return data


def _download(url: str, timeout: float) -> bytes:
    try:
        with egress.client(timeout=timeout, follow_redirects=True) as client, \
                client.stream("GET", url) as response:
            response.raise_for_status()
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_IMAGE_BYTES:
                    raise AIError("The generated image is too large.")
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.HTTPError as exc:
        raise AIError("The generated image could not be downloaded.", retryable=True) from exc
