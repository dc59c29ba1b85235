"""What every use case needs: units of work on the database, the clock, the policies, the providers."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orderguard.app.ports import UnitOfWork, UnitsOfWork
from orderguard.domain.machine import Actor, Refusal, Refused
from orderguard.domain.policy import Policy, PolicyVersion, parse_policy, version_of
from orderguard.providers.clock import Clock
from orderguard.providers.files import FileStore, MemoryFileStore
from orderguard.providers.payments import PaymentProvider

DEFAULT_POLICY_FILE = Path(__file__).resolve().parents[3] / "policy" / "default.toml"


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller."""

    id: str
    role: Actor


SYSTEM = Principal("system", Actor.SYSTEM)


class PolicyBook:
    """The policy in force for new orders, and every version orders are pinned to."""

    def __init__(self, units: UnitsOfWork, current: PolicyVersion, clock: Clock) -> None:
        self._units = units
        self._clock = clock
        self._by_key: dict[str, Policy] = {}
        self.current = current
        self.adopt(current)

    def adopt(self, version: PolicyVersion) -> None:
        """Put `version` in force for new orders; orders placed before keep theirs."""
        with self._units.writing() as uow:
            if not uow.policies.policy_stored(version.key):
                uow.policies.insert_policy(version, self._clock.now())
        self._by_key[version.key] = version.policy
        self.current = version

    def get(self, key: str) -> Policy:
        policy = self._by_key.get(key)
        if policy is None:
            with self._units.reading() as uow:
                body = uow.policies.policy_body(key)
            if body is None:
                raise Refused(Refusal("unknown_policy_version", f"policy {key} is not stored", 500))
            policy = version_of(Policy.model_validate(body)).policy
            self._by_key[key] = policy
        return policy


def load_policy_file(path: Path | None = None) -> PolicyVersion:
    return parse_policy((path or DEFAULT_POLICY_FILE).read_text())


@dataclass
class Context:
    units: UnitsOfWork
    clock: Clock
    policies: PolicyBook
    payments: PaymentProvider
    sandbox: bool = False
    carrier_secrets: dict[str, str] = field(default_factory=dict)  # carrier -> webhook HMAC secret
    # uploaded files by content (bootstrap: on local disk; in memory unless given)
    files: FileStore = field(default_factory=MemoryFileStore)
    # The database handle the units of work run on, for the shell (bootstrap, cli, the scheduler,
    # tests) to inspect or dispose of; use cases never touch it.
    engine: Any = None

    def uow(self) -> AbstractContextManager[UnitOfWork]:
        """A writing unit of work: commits when the block ends, rolls back when it raises."""
        return self.units.writing()

    def reading(self) -> AbstractContextManager[UnitOfWork]:
        """A read-only unit of work: one consistent snapshot."""
        return self.units.reading()
