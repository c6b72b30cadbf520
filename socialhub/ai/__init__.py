"""AI providers behind two small protocols: `TextModel` and `ImageModel` (base.py).

- `local` (local.py): offline and deterministic: extractive summaries, keyword points and
  hashtags, a Pillow title card. Labelled "Built-in offline summary" wherever its words show.
- `openai` (openai_provider.py): chat completions and the Images API, official SDK.
- `anthropic` (anthropic_provider.py): the Messages API, official SDK; no images.

Callers ask `text_model(provider, api_key)` / `image_model(...)` for an instance per use,
built from the user's own key (the service decides which key); there is no module-global
provider. `OPENAI_BASE_URL` / `ANTHROPIC_BASE_URL` point the SDKs at compatible servers and
`OPENAI_MODEL`, `OPENAI_IMAGE_MODEL`, `ANTHROPIC_MODEL` choose models (`AIConfig`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .base import AIError, ImageModel, TextModel
from .local import LABEL as LOCAL_LABEL
from .local import LocalImage, LocalText

PROVIDERS = ("local", "openai", "anthropic")


@dataclass(frozen=True)
class AIConfig:
    openai_base_url: str | None = None
    openai_model: str | None = None
    openai_image_model: str | None = None
    anthropic_base_url: str | None = None
    anthropic_model: str | None = None

    @classmethod
    def from_env(cls) -> AIConfig:
        get = lambda name: os.environ.get(name, "").strip() or None  # noqa: E731
        return cls(openai_base_url=get("OPENAI_BASE_URL"), openai_model=get("OPENAI_MODEL"),
                   openai_image_model=get("OPENAI_IMAGE_MODEL"), anthropic_base_url=get("ANTHROPIC_BASE_URL"),
                   anthropic_model=get("ANTHROPIC_MODEL"))


def text_model(provider: str, api_key: str | None = None, *, config: AIConfig | None = None) -> TextModel:
    """A text model for `provider` with this key; `local` needs no key."""
    config = config or AIConfig.from_env()
    if provider == "local":
        return LocalText()
    if not api_key:
        raise AIError(f"No API key for {provider}.")
    if provider == "openai":
        from .openai_provider import OpenAIText

        return OpenAIText(api_key, base_url=config.openai_base_url, model=config.openai_model)
    if provider == "anthropic":
        from .anthropic_provider import AnthropicText

        return AnthropicText(api_key, base_url=config.anthropic_base_url, model=config.anthropic_model)
    raise AIError(f"Unknown AI provider {provider!r}.")


def image_model(provider: str, api_key: str | None = None, *, config: AIConfig | None = None) -> ImageModel:
    """An image model for `provider`; providers without images get the local title card."""
    config = config or AIConfig.from_env()
    if provider == "openai" and api_key:
        from .openai_provider import OpenAIImage

        return OpenAIImage(api_key, base_url=config.openai_base_url, model=config.openai_image_model)
    return LocalImage()


__all__ = [
    "LOCAL_LABEL",
    "PROVIDERS",
    "AIConfig",
    "AIError",
    "ImageModel",
    "LocalImage",
    "LocalText",
    "TextModel",
    "image_model",
    "text_model",
]
