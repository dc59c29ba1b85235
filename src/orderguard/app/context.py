"""What every use case needs: units of work on the database, the clock, the policies, the providers."""

from __future__ import annotations

import tomllib
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from orderguard.app.ports import UnitOfWork, UnitsOfWork
from orderguard.domain.machine import Actor, Refusal, Refused
from orderguard.domain.policy import Policy, PolicyVersion, parse_policy, version_of
from orderguard.providers.clock import Clock
from orderguard.providers.files import FileStore, MemoryFileStore
from orderguard.providers.payments import PaymentProvider

# The default policy: `policy/default.toml` of the source tree, which a wheel carries as package
# data at `orderguard/policy/default.toml` (pyproject.toml, force-include).
_PACKAGED_POLICY = Path(__file__).resolve().parents[1] / "policy" / "default.toml"
_SOURCE_POLICY = Path(__file__).resolve().parents[3] / "policy" / "default.toml"
DEFAULT_POLICY_FILE = _PACKAGED_POLICY if _PACKAGED_POLICY.is_file() else _SOURCE_POLICY
POLICY_FIX = (
    "set ORDERGUARD_POLICY_FILE (or --file) to a policy file; `orderguard policy show` prints the default"
)


class PolicyFileInvalid(ValueError):
    """A policy file that cannot be read or is not a valid policy; the message is one line with the fix."""


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
    """The policy in a TOML file (default: the shipped one); PolicyFileInvalid says what is wrong with it."""
    path = path or DEFAULT_POLICY_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyFileInvalid(f"policy file {path} does not exist: {POLICY_FIX}") from None
    except IsADirectoryError:
        raise PolicyFileInvalid(f"policy file {path} is a directory: {POLICY_FIX}") from None
    except UnicodeDecodeError:
        raise PolicyFileInvalid(f"policy file {path} is not UTF-8 text: {POLICY_FIX}") from None
    except OSError as e:
        raise PolicyFileInvalid(f"cannot read the policy file {path} ({e.strerror}): {POLICY_FIX}") from None
    try:
        return parse_policy(text)
    except tomllib.TOMLDecodeError as e:
        raise PolicyFileInvalid(f"policy file {path} is not valid TOML ({e}): {POLICY_FIX}") from None
    except ValidationError as e:
        raise PolicyFileInvalid(f"policy file {path}: {_policy_errors(e)}") from None


def _policy_errors(e: ValidationError) -> str:
    """`[section] key: what is wrong (given …)`, for each error, on one line."""
    said = []
    for error in e.errors():
        loc = [str(part) for part in error["loc"]]
        where = f"[{loc[0]}] {'.'.join(loc[1:])}" if len(loc) > 1 else (loc[0] if loc else "the file")
        message = error["msg"].removeprefix("Value error, ")
        shown = error["type"] not in ("missing", "extra_forbidden", "value_error")
        given = f" (given {_short(error['input'])})" if shown else ""
        if error["type"] == "extra_forbidden":
            message = "no such policy value"
        said.append(f"{where}: {message}{given}")
    return "; ".join(said)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


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
    # Token digest -> its caller as this process last looked it up: what a read-only request plans
    # its reads with while its own lookup travels with them; never an answer by itself
    # (app/accounts.authenticate_ahead).
    recent_callers: dict[str, Principal] = field(default_factory=dict)

    def uow(self) -> AbstractContextManager[UnitOfWork]:
        """A writing unit of work: commits when the block ends, rolls back when it raises."""
        return self.units.writing()

    def reading(self) -> AbstractContextManager[UnitOfWork]:
        """A read-only unit of work: it sees committed data only (`app/ports.py`)."""
        return self.units.reading()
