"""Configuration from the environment (ORDERGUARD_*)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
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
    # Seconds a request body may take to arrive, from the end of its headers (then 408).
    request_read_timeout_seconds: float = Field(default=10.0, gt=0)
    # Seconds an Idempotency-Key stays reserved for a request that stops renewing it (a dead process).
    idempotency_lease_seconds: float = Field(default=30.0, gt=0)
    # Where uploaded files (proof of dispatch, evidence) are kept, by content. Default: `files`
    # beside a SQLite database file, else var/files.
    files_dir: Path | None = None

    def files_root(self) -> Path:
        if self.files_dir is not None:
            return self.files_dir
        url = self.database_url
        if url.startswith("sqlite:///") and url.removeprefix("sqlite:///") not in ("", ":memory:"):
            return Path(url.removeprefix("sqlite:///")).parent / "files"
        return Path("var/files")
