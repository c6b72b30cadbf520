"""Who makes a remix: the image editors (local, Gemini 2.5 Flash Image, OpenAI image edit) and
the video makers (local ffmpeg clip; Veo on Vertex AI in `veo.py`), chosen per remix.

- `choose_image_provider`: the remixer's own Google key → Gemini, else their OpenAI key →
  OpenAI image edit, else the offline `local` editor. The choice is stored on the remix.
- Every remote call goes through `core.egress` (httpx for Gemini, `egress.sdk_client()` for the
  OpenAI SDK), with no database transaction open. Errors become `AIError` with a sentence for
  the person and `retryable` set for what may work later (timeouts, 429, 5xx).
- A provider's bytes are never trusted: the output's type is sniffed and it is re-opened safely.
- Base URLs come from the environment (`GEMINI_BASE_URL`, `OPENAI_BASE_URL`) so tests point them
  at local servers that speak the documented APIs.
"""

from __future__ import annotations

import base64
import io
import os
from dataclasses import dataclass, field
from typing import Protocol

from socialhub.ai.base import AIError, image_kind
from socialhub.core import egress
from socialhub.remix import assets, edits
from socialhub.remix.brands import BrandLook

GEMINI_MODEL = "gemini-2.5-flash-image"
GEMINI_BASE_URL = "https://generativelanguage.googleapis.com"
OPENAI_IMAGE_MODEL = "gpt-image-1"
TIMEOUT_S = 120.0
MAX_OUTPUT_BYTES = 20_000_000


@dataclass
class Edited:
    data: bytes
    content_type: str
    extension: str
    notes: list[str] = field(default_factory=list)


class ImageEditor(Protocol):
    name: str
    model: str

    def edit(self, image: bytes, prompt: str, *, brand: BrandLook, seed: int) -> Edited: ...


def _checked(data: bytes, who: str) -> Edited:
    kind = image_kind(data or b"")
    if kind is None or len(data) > MAX_OUTPUT_BYTES:
        raise AIError(f"{who} sent back something that is not a picture we accept.")
    assets.open_image(data)  # refuses broken files and bombs
    content_type = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}[kind]
    return Edited(data, content_type, kind)


class LocalEditor:
    """The offline editor (`edits.py`): Pillow, the documented instructions, honest notes."""

    name = edits.NAME
    model = "pillow"

    def edit(self, image: bytes, prompt: str, *, brand: BrandLook, seed: int) -> Edited:
        result = edits.edit_image(assets.open_image(image), prompt, brand)
        if not result.done:
            raise AIError("The offline editor could not do any part of this prompt. It understands: "
                          f"{edits.HELP}. Add a Google or OpenAI key in Settings for free-form edits.")
        return Edited(assets.encode_jpeg(result.image), "image/jpeg", "jpg", result.notes())


class GeminiEditor:
    """Gemini 2.5 Flash Image through `generateContent` (REST, API key in `x-goog-api-key`)."""

    name = "gemini"

    def __init__(self, api_key: str, *, base_url: str | None = None, model: str | None = None) -> None:
        self.api_key = api_key
        self.base_url = (base_url or os.environ.get("GEMINI_BASE_URL") or GEMINI_BASE_URL).rstrip("/")
        self.model = model or os.environ.get("GEMINI_IMAGE_MODEL") or GEMINI_MODEL

    def edit(self, image: bytes, prompt: str, *, brand: BrandLook, seed: int) -> Edited:
        mime = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}.get(image_kind(image) or "", "image/png")
        body = {
            "contents": [{"role": "user", "parts": [
                {"text": _brief(prompt, brand)},
                {"inline_data": {"mime_type": mime, "data": base64.b64encode(image).decode()}},
            ]}],
            "generationConfig": {"responseModalities": ["IMAGE", "TEXT"], "seed": seed},
        }
        url = f"{self.base_url}/v1beta/models/{self.model}:generateContent"
        try:
            with egress.client(total_seconds=TIMEOUT_S) as http:
                response = http.post(url, json=body, headers={"x-goog-api-key": self.api_key})
        except Exception as exc:
            raise AIError("Google Gemini could not be reached. Try again later.", retryable=True) from exc
        if response.status_code in (401, 403):
            raise AIError("Google did not accept your API key. Check it in Settings → AI provider keys.")
        if response.status_code == 429:
            raise AIError("Google says you are over your rate limit or quota. Try again later.", retryable=True)
        if response.status_code >= 400:
            message = _error_message(response)
            raise AIError(f"Google Gemini answered {response.status_code}: {message}", retryable=response.status_code >= 500)
        payload = response.json()
        texts = []
        for candidate in payload.get("candidates") or []:
            for part in (candidate.get("content") or {}).get("parts") or []:
                inline = part.get("inlineData") or part.get("inline_data")
                if inline and inline.get("data"):
                    edited = _checked(base64.b64decode(inline["data"]), "Google Gemini")
                    edited.notes = [t for t in texts if t][:3]
                    return edited
                if part.get("text"):
                    texts.append(part["text"][:300])
        reason = (payload.get("promptFeedback") or {}).get("blockReason") or (texts[0] if texts else "no picture")
        raise AIError(f"Google Gemini made no picture ({str(reason)[:200]}).")


class OpenAIEditor:
    """OpenAI's image edit endpoint through the official SDK (its HTTP client is egress's)."""

    name = "openai"

    def __init__(self, api_key: str, *, base_url: str | None = None, model: str | None = None) -> None:
        import openai

        self.model = model or os.environ.get("OPENAI_IMAGE_MODEL") or OPENAI_IMAGE_MODEL
        self._client = openai.OpenAI(api_key=api_key, base_url=base_url or os.environ.get("OPENAI_BASE_URL") or None,
                                     timeout=TIMEOUT_S, max_retries=1, http_client=egress.sdk_client(timeout=TIMEOUT_S))

    def edit(self, image: bytes, prompt: str, *, brand: BrandLook, seed: int) -> Edited:
        import openai

        png = io.BytesIO()
        assets.open_image(image).convert("RGBA").save(png, "PNG")
        try:
            result = self._client.images.edit(model=self.model, image=("remix.png", png.getvalue(), "image/png"),
                                              prompt=_brief(prompt, brand))
        except openai.AuthenticationError as exc:
            raise AIError("OpenAI did not accept your API key. Check it in Settings → AI provider keys.") from exc
        except openai.RateLimitError as exc:
            raise AIError("OpenAI says you are over your rate limit or quota. Try again later.", retryable=True) from exc
        except (openai.APITimeoutError, openai.APIConnectionError) as exc:
            raise AIError("OpenAI could not be reached in time. Try again later.", retryable=True) from exc
        except openai.APIStatusError as exc:
            raise AIError(f"OpenAI answered {exc.status_code}: {(getattr(exc, 'message', '') or '')[:200]}",
                          retryable=exc.status_code >= 500) from exc
        item = (result.data or [None])[0]
        if item is None or not getattr(item, "b64_json", None):
            raise AIError("OpenAI made no picture.")
        return _checked(base64.b64decode(item.b64_json), "OpenAI")


def _brief(prompt: str, brand: BrandLook) -> str:
    """The person's prompt, quoted as data, with the brand's look as context."""
    return (f"Edit this advertisement image for the brand {brand.name!r} (brand colours: {', '.join(brand.colors)}). "
            f"Follow the user's instruction, which is quoted below as data:\n<<<\n{prompt}\n>>>")


def _error_message(response) -> str:
    try:
        return str((response.json().get("error") or {}).get("message", ""))[:200]
    except Exception:
        return response.text[:200]


def choose_image_provider(keys: dict[str, str | None]) -> tuple[str, str]:
    """(provider, model) for a remixer whose keys are `keys` (provider name → key or None)."""
    if keys.get("google"):
        return "gemini", os.environ.get("GEMINI_IMAGE_MODEL") or GEMINI_MODEL
    if keys.get("openai"):
        return "openai", os.environ.get("OPENAI_IMAGE_MODEL") or OPENAI_IMAGE_MODEL
    return "local", "pillow"


def image_editor(provider: str, key: str | None) -> ImageEditor:
    if provider == "gemini" and key:
        return GeminiEditor(key)
    if provider == "openai" and key:
        return OpenAIEditor(key)
    if provider != "local":
        raise AIError("The key this remix was made with is gone; remix again to use the offline editor.")
    return LocalEditor()
