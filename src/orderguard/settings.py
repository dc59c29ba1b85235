"""Configuration from the environment (ORDERGUARD_*)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ORDERGUARD_")

    database_url: str = "sqlite:///var/orderguard.db"
    sandbox: bool = False
    policy_file: Path | None = None
    scheduler_poll_seconds: float = 1.0
    # JSON object, carrier -> HMAC secret for its scan webhooks. In sandbox mode every carrier
    # without one gets "sandbox-<carrier>-secret".
    carrier_secrets: dict[str, str] = {}
