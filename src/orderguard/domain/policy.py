"""The policy: every number of SPEC.md, as data an operator can change.

A policy is identified by its content hash; orders record the version they
were placed under and are always judged by it (see `PolicyVersion`).
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CataloguePolicy(_Section):
    delivery_weight: float = Field(ge=0)
    max_quantity_per_line: int = Field(gt=0)


class CheckoutPolicy(_Section):
    unpaid_expiry_days: int = Field(gt=0)


class PaymentPolicy(_Section):
    methods: list[str]
    captured_at_once: list[str]
    bank_transfer_credit_days: int = Field(gt=0)
    # how long to wait for the provider's answer before asking again (operations, not a rule)
    provider_retry_seconds: int = Field(default=60, gt=0)


class CancellationPolicy(_Section):
    seller_answer_hours: int = Field(gt=0)
    seller_fault_fine_bps: int = Field(ge=0)
    seller_fault_fine_min_minor: int = Field(ge=0)
    proof_of_dispatch_hours: int = Field(gt=0)
    # R4.6 the largest proof of dispatch taken; a default, so that policies stored before it parse
    proof_max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    missed_ship_by_fine_bps: int = Field(ge=0)
    reasons: dict[str, Literal["buyer", "seller"]]
    # R8.5: the seller is reminded this long after the request, while it is still open (older
    # policies lack it)
    seller_reminder_after_hours: int = Field(default=48, gt=0)


Window = tuple[Annotated[int, Field(ge=0)], Annotated[int, Field(ge=0)]]


class RefundPolicy(_Section):
    card: Window
    ewallet: Window
    bank_transfer: Window
    cancellation_settle_days: int = Field(gt=0)
    # a refund the provider has not accepted is sent again after retry_seconds, doubling with each
    # attempt, at most retry_max_seconds apart (operations, not a rule; older policies lack them)
    retry_seconds: int = Field(default=60, gt=0)
    retry_max_seconds: int = Field(default=86_400, gt=0)

    @model_validator(mode="after")
    def _windows_run_forward(self) -> RefundPolicy:
        for method, (low, high) in self.windows().items():
            if low > high:
                raise ValueError(f"refunds.{method}: the window [{low}, {high}] runs backwards")
        return self

    def windows(self) -> dict[str, tuple[int, int]]:
        """Per payment method, the days (min, max) a refund takes to reach the buyer (R5.2)."""
        return {"card": self.card, "ewallet": self.ewallet, "bank_transfer": self.bank_transfer}

    def window(self, method: str) -> tuple[int, int]:
        window = self.windows().get(method)
        if window is None:
            raise ValueError(f"no refund window for payment method {method!r}")
        return window


class ShippingPolicy(_Section):
    max_protection_days: int = Field(gt=0)
    after_delivery_protection_days: int = Field(gt=0)
    protection_reminder_days: int = Field(ge=0)
    post_completion_dispute_days: int = Field(gt=0)
    pickup_storage_days: int = Field(gt=0)
    unclaimed_refund: Literal["minus_return_shipping", "full"]
    no_scan_alert_days: int = Field(gt=0)
    scan_signature_tolerance_seconds: int = Field(gt=0)


class DisputePolicy(_Section):
    seller_answer_days: int = Field(gt=0)
    negotiation_days: int = Field(gt=0)
    information_request_hours: int = Field(gt=0)
    return_ship_days: int = Field(gt=0)
    return_receipt_silence_days: int = Field(gt=0)
    seller_loss_fine_bps: int = Field(ge=0)
    # R7.4: either party may escalate once this many days have passed (older policies lack it)
    early_escalation_days: int = Field(default=3, gt=0)
    # R7.2: the largest photo or video of evidence taken
    evidence_max_bytes: int = Field(default=25 * 1024 * 1024, gt=0)
    # R7.5: the reasons whose loss in arbitration fines the seller ("damaged" is the carrier's doing)
    seller_fault_reasons: tuple[str, ...] = (
        "not_received",
        "not_as_described",
        "wrong_item",
        "missing_parts",
        "counterfeit",
    )


class MoneyPolicy(_Section):
    commission_bps: int = Field(ge=0, le=10_000)


class TrustPolicy(_Section):
    buyer_abuse_cancellations: int = Field(gt=0)
    buyer_abuse_disputes_lost: int = Field(gt=0)


class Policy(_Section):
    version: str
    catalogue: CataloguePolicy
    checkout: CheckoutPolicy
    payment: PaymentPolicy
    cancellation: CancellationPolicy
    refunds: RefundPolicy
    shipping: ShippingPolicy
    disputes: DisputePolicy
    money: MoneyPolicy
    trust: TrustPolicy


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    """A loaded policy with its identity: label from the file, hash of its content."""

    label: str
    content_hash: str
    policy: Policy

    @property
    def key(self) -> str:
        """What an order stores to be pinned to this version."""
        return f"{self.label}@{self.content_hash[:12]}"


def parse_policy(toml_text: str) -> PolicyVersion:
    data = tomllib.loads(toml_text)
    policy = Policy.model_validate(data)
    return version_of(policy)


def version_of(policy: Policy) -> PolicyVersion:
    canonical = json.dumps(policy.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return PolicyVersion(label=policy.version, content_hash=digest, policy=policy)
