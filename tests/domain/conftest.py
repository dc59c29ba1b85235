"""Shared fixtures for the pure-domain tests: the default policy, parsed once."""

from __future__ import annotations

from pathlib import Path

import pytest

from orderguard.domain.policy import Policy, PolicyVersion, parse_policy

DEFAULT_POLICY_PATH = Path(__file__).resolve().parents[2] / "policy" / "default.toml"


@pytest.fixture(scope="session")
def default_toml() -> str:
    return DEFAULT_POLICY_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def policy_version(default_toml: str) -> PolicyVersion:
    return parse_policy(default_toml)


@pytest.fixture(scope="session")
def policy(policy_version: PolicyVersion) -> Policy:
    return policy_version.policy
