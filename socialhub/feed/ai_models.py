"""Which AI a reader's feed work uses: their own key, else the offline provider.

OpenAI is tried first (it also makes images), then Anthropic; with neither key the built-in
`local` provider is used and labelled "Built-in offline summary". Models are built per call
from the user's key, never kept in a module global.
"""

from __future__ import annotations

from sqlmodel import Session

from socialhub import ai
from socialhub.identity import users

ORDER = ("openai", "anthropic")


def models_for_user(session: Session, *, user_id: int,
                    config: ai.AIConfig | None = None) -> tuple[ai.TextModel, ai.ImageModel]:
    for provider in ORDER:
        key = users.get_provider_key(session, user_id=user_id, provider=provider)
        if key:
            return ai.text_model(provider, key, config=config), ai.image_model(provider, key, config=config)
    return ai.text_model("local"), ai.image_model("local")
