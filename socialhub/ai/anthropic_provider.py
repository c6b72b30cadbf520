"""Anthropic through its official SDK: the Messages API for text (it makes no images).

`base_url` points the SDK at any server speaking the same API (a local fake in tests). Every
SDK error becomes an `AIError` whose message names the provider; the key never appears in it.
"""

from __future__ import annotations

import anthropic

from socialhub.core import egress

from .base import AIError, RemoteTextModel

DEFAULT_MODEL = "claude-haiku-4-5"
TIMEOUT_S = 60.0


def _error(exc: Exception) -> AIError:
    if isinstance(exc, anthropic.AuthenticationError):
        return AIError("Anthropic did not accept your API key. Check it in Settings → AI provider keys.")
    if isinstance(exc, anthropic.RateLimitError):
        return AIError("Anthropic says you are over your rate limit. Try again later.", retryable=True)
    if isinstance(exc, anthropic.APITimeoutError):
        return AIError("Anthropic did not answer in time. Try again later.", retryable=True)
    if isinstance(exc, anthropic.APIConnectionError):
        return AIError("Anthropic could not be reached. Try again later.", retryable=True)
    if isinstance(exc, anthropic.APIStatusError):
        message = getattr(exc, "message", "") or ""
        return AIError(f"Anthropic answered {exc.status_code}: {message[:200]}",
                       retryable=exc.status_code >= 500)
    return AIError(f"Anthropic failed: {type(exc).__name__}.")


class AnthropicText(RemoteTextModel):
    name = "anthropic"

    def __init__(self, api_key: str, *, base_url: str | None = None, model: str | None = None,
                 timeout: float = TIMEOUT_S) -> None:
        self.model = model or DEFAULT_MODEL
        self.label = f"Anthropic {self.model}"
        self._client = anthropic.Anthropic(api_key=api_key, base_url=base_url or None, timeout=timeout,
                                           max_retries=1, http_client=egress.sdk_client(timeout=timeout))

    def complete(self, prompt: str, *, system: str = "", max_tokens: int = 400) -> str:
        kwargs = {"system": system} if system else {}
        try:
            message = self._client.messages.create(
                model=self.model, max_tokens=max_tokens, messages=[{"role": "user", "content": prompt}], **kwargs)
        except anthropic.AnthropicError as exc:
            raise _error(exc) from exc
        return "".join(getattr(block, "text", "") for block in message.content).strip()
