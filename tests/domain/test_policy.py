"""The policy file: parsed, validated, identified by a stable content hash."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from orderguard.domain.policy import PolicyVersion, parse_policy, version_of


def test_default_policy_parses(policy_version: PolicyVersion) -> None:
    p = policy_version.policy
    assert policy_version.label == "2026.11-default"
    assert p.checkout.unpaid_expiry_days == 20
    assert p.payment.bank_transfer_credit_days == 5
    assert p.money.commission_bps == 500
    assert p.catalogue.delivery_weight == 0.5
    assert p.refunds.card == (3, 7)
    assert p.cancellation.reasons["out_of_stock"] == "seller"


def test_default_policy_captures_cards_and_wallets_at_once(policy_version: PolicyVersion) -> None:
    payment = policy_version.policy.payment
    assert set(payment.captured_at_once) < set(payment.methods)
    assert "bank_transfer" not in payment.captured_at_once


def test_content_hash_is_a_sha256_hex(policy_version: PolicyVersion) -> None:
    assert len(policy_version.content_hash) == 64
    int(policy_version.content_hash, 16)


def test_content_hash_is_stable_across_parses(default_toml: str) -> None:
    assert parse_policy(default_toml).content_hash == parse_policy(default_toml).content_hash


def test_content_hash_ignores_comments_and_layout(default_toml: str) -> None:
    reformatted = "\n".join(line.split("#", 1)[0].rstrip() for line in default_toml.splitlines())
    reformatted = reformatted.replace(" = ", "=")
    assert parse_policy(reformatted).content_hash == parse_policy(default_toml).content_hash


def test_content_hash_equals_version_of_the_model(policy_version: PolicyVersion) -> None:
    assert version_of(policy_version.policy).content_hash == policy_version.content_hash


def test_content_hash_changes_when_a_number_changes(default_toml: str) -> None:
    changed = default_toml.replace("commission_bps = 500", "commission_bps = 501")
    assert changed != default_toml
    assert parse_policy(changed).content_hash != parse_policy(default_toml).content_hash


def test_content_hash_changes_when_a_reason_changes_fault(default_toml: str) -> None:
    changed = default_toml.replace('out_of_stock = "seller"', 'out_of_stock = "buyer"')
    assert changed != default_toml
    assert parse_policy(changed).content_hash != parse_policy(default_toml).content_hash


def test_key_is_label_at_short_hash(policy_version: PolicyVersion) -> None:
    assert policy_version.key == f"2026.11-default@{policy_version.content_hash[:12]}"


def test_label_change_changes_the_key(default_toml: str) -> None:
    relabelled = parse_policy(default_toml.replace('"2026.11-default"', '"2026.12-test"'))
    assert relabelled.key.startswith("2026.12-test@")
    assert relabelled.key != parse_policy(default_toml).key


def test_unknown_key_in_a_section_is_refused(default_toml: str) -> None:
    with pytest.raises(ValidationError, match="extra"):
        parse_policy(default_toml.replace("[money]", "[money]\nsurprise_fee_bps = 1"))


def test_unknown_top_level_key_is_refused(default_toml: str) -> None:
    with pytest.raises(ValidationError):
        parse_policy('colour = "blue"\n' + default_toml)


def test_unknown_section_is_refused(default_toml: str) -> None:
    with pytest.raises(ValidationError):
        parse_policy(default_toml + "\n[loyalty]\npoints = 1\n")


def test_missing_section_is_refused(default_toml: str) -> None:
    without_trust = default_toml.split("[trust]")[0]
    with pytest.raises(ValidationError):
        parse_policy(without_trust)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("commission_bps = 500", "commission_bps = 10001"),
        ("unpaid_expiry_days = 20", "unpaid_expiry_days = 0"),
        ('out_of_stock = "seller"', 'out_of_stock = "nobody"'),
        ('unclaimed_refund = "minus_return_shipping"', 'unclaimed_refund = "half"'),
    ],
)
def test_out_of_range_values_are_refused(default_toml: str, old: str, new: str) -> None:
    assert old in default_toml
    with pytest.raises(ValidationError):
        parse_policy(default_toml.replace(old, new))


def test_policy_is_frozen(policy_version: PolicyVersion) -> None:
    with pytest.raises(ValidationError):
        policy_version.policy.money.commission_bps = 0  # type: ignore[misc]


def test_content_hash_ignores_the_order_of_reasons(default_toml: str) -> None:
    a, b = 'no_longer_needed = "buyer"\n', 'processing_too_long = "buyer"\n'
    swapped = default_toml.replace(a + b, b + a)
    assert swapped != default_toml
    assert parse_policy(swapped).content_hash == parse_policy(default_toml).content_hash
