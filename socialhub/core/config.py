"""Settings read from the environment, once, with the defaults the README documents.

Every knob the app has is here so the README's table and the code cannot drift apart.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository: socialhub/core/config.py → ../../..


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str  # empty: the run command starts the embedded PostgreSQL
    port: int
    public_url: str
    keys: str  # SOCIALHUB_KEYS, "id:base64key,..." newest first; empty: key file under data_dir
    s3_bucket: str
    s3_endpoint_url: str
    s3_region: str
    smtp_host: str
    smtp_port: int
    smtp_user: str
    smtp_password: str
    smtp_starttls: bool
    mail_from: str
    heartbeat_seconds: int
    demo_data: bool
    trusted_proxy_hops: int  # reverse proxies in front of the app that append to X-Forwarded-For
    redis_url: str  # REDIS_URL or REFLEX_REDIS_URL: shared rate-limit counters; empty: in memory

    @property
    def public_origin(self) -> str:
        """scheme://host[:port] of PUBLIC_URL, as browsers send it in an Origin header."""
        scheme, _, rest = self.public_url.partition("://")
        return f"{scheme.lower()}://{rest.split('/', 1)[0].lower()}"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    port = int(_env("PORT", "3000"))
    return Settings(
        data_dir=Path(_env("SOCIALHUB_DATA_DIR", str(ROOT / ".data"))).resolve(),
        database_url=_env("DATABASE_URL"),
        port=port,
        public_url=_env("PUBLIC_URL", f"http://localhost:{port}").rstrip("/"),
        keys=_env("SOCIALHUB_KEYS"),
        s3_bucket=_env("S3_BUCKET"),
        s3_endpoint_url=_env("S3_ENDPOINT_URL"),
        s3_region=_env("S3_REGION", "us-east-1"),
        smtp_host=_env("SMTP_HOST"),
        smtp_port=int(_env("SMTP_PORT", "587")),
        smtp_user=_env("SMTP_USER"),
        smtp_password=_env("SMTP_PASSWORD"),
        smtp_starttls=_env("SMTP_STARTTLS", "1") not in ("0", "false", "no"),
        mail_from=_env("MAIL_FROM", "SocialHub <no-reply@socialhub.local>"),
        heartbeat_seconds=int(_env("SCHEDULER_HEARTBEAT_SECONDS", "5")),
        demo_data=_env("SOCIALHUB_DEMO_DATA", "1") not in ("0", "false", "no"),
        trusted_proxy_hops=max(0, int(_env("TRUSTED_PROXY_HOPS", "0") or "0")),
        redis_url=_env("REDIS_URL") or _env("REFLEX_REDIS_URL"),
    )
