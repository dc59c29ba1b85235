"""Building a running OrderGuard from settings: engine, schema, clock, policy, providers."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from orderguard.app.context import Context, PolicyBook, load_policy_file
from orderguard.domain.shipping import CARRIER_FORMATS
from orderguard.providers.clock import Clock, SystemClock, VirtualClock
from orderguard.providers.payments import SandboxPayments
from orderguard.settings import Settings
from orderguard.store.db import make_engine
from orderguard.store.migrate import upgrade


def build_context(
    settings: Settings, *, clock: Clock | None = None, migrate: bool = True, start: datetime | None = None
) -> Context:
    url = settings.database_url
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)
    if migrate:
        upgrade(engine)
    if clock is None:
        clock = VirtualClock(engine, start) if settings.sandbox else SystemClock()
    policies = PolicyBook(engine, load_policy_file(settings.policy_file), clock)
    secrets = dict(settings.carrier_secrets)
    if settings.sandbox:
        for carrier in CARRIER_FORMATS:
            secrets.setdefault(carrier, f"sandbox-{carrier}-secret")
    # Real payment providers plug in here; until then every mode uses the sandbox provider.
    return Context(
        engine, clock, policies, SandboxPayments(), sandbox=settings.sandbox, carrier_secrets=secrets
    )
