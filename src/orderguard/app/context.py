"""What every use case needs: the database, the clock, the policies, the providers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from orderguard.domain.machine import Actor, Refusal, Refused
from orderguard.domain.policy import Policy, PolicyVersion, parse_policy, version_of
from orderguard.providers.clock import Clock
from orderguard.providers.payments import PaymentProvider
from orderguard.store.db import reading, unit_of_work
from orderguard.store.policies_repo import insert_policy, policy_body, policy_stored

DEFAULT_POLICY_FILE = Path(__file__).resolve().parents[3] / "policy" / "default.toml"


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller."""

    id: str
    role: Actor


SYSTEM = Principal("system", Actor.SYSTEM)


class PolicyBook:
    """The policy in force for new orders, and every version orders are pinned to."""

    def __init__(self, engine: Engine, current: PolicyVersion, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock
        self._by_key: dict[str, Policy] = {}
        self.current = current
        self.adopt(current)

    def adopt(self, version: PolicyVersion) -> None:
        """Put `version` in force for new orders; orders placed before keep theirs."""
        with unit_of_work(self._engine) as conn:
            if not policy_stored(conn, version.key):
                insert_policy(conn, version, self._clock.now())
        self._by_key[version.key] = version.policy
        self.current = version

    def get(self, key: str) -> Policy:
        policy = self._by_key.get(key)
        if policy is None:
            with reading(self._engine) as conn:
                body = policy_body(conn, key)
            if body is None:
                raise Refused(Refusal("unknown_policy_version", f"policy {key} is not stored", 500))
            policy = version_of(Policy.model_validate(body)).policy
            self._by_key[key] = policy
        return policy


def load_policy_file(path: Path | None = None) -> PolicyVersion:
    return parse_policy((path or DEFAULT_POLICY_FILE).read_text())


@dataclass
class Context:
    engine: Engine
    clock: Clock
    policies: PolicyBook
    payments: PaymentProvider
    sandbox: bool = False
    carrier_secrets: dict[str, str] = field(default_factory=dict)  # carrier -> webhook HMAC secret
