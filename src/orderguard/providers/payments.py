"""The payment-provider port and its sandbox adapter.

Card and e-wallet payments are captured at once; a bank transfer is only
started here and reported credited (or failed) by the provider later, in
the sandbox through `/v1/sandbox/payments/{id}/credit` and `/fail`.

Refunds go back to the payment they refund (R3.6). The provider accepts a refund with a receipt
that says when the money should reach the buyer, and answers later whether it has
(`refund_status`); a refund it cannot pay is declined at once (`RefundDeclined`) or reported
failed later.

Every call carries OrderGuard's payment or refund id as the provider's idempotency key:
asked twice about the same payment or refund, a provider answers the same and moves the
money once. It is never called inside a database transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol


class PaymentDeclined(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RefundDeclined(Exception):
    """The provider will not pay this refund (e.g. the card account is closed); no money moved."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ProviderUnavailable(Exception):
    """The provider could not be reached or did not answer; the same call may be retried."""


@dataclass(frozen=True, slots=True)
class RefundReceipt:
    """The provider accepted a refund: its reference, and when the money should reach the buyer."""

    reference: str
    settles_at: datetime


@dataclass(frozen=True, slots=True)
class RefundStatus:
    """Where an accepted refund stands: still on its way, paid out, or failed (with why)."""

    state: Literal["processing", "settled", "failed"]
    reason: str | None = None


class PaymentProvider(Protocol):
    """A payment provider. On PostgreSQL a write's use case runs on the event loop (api/handoff.py):
    an implementation that waits on the network (an HTTP call) must do so through
    `orderguard.on_loop.off_loop`, which runs it in a thread there and as it is elsewhere."""

    def capture(self, method: str, amount: int, currency: str, reference: str) -> str:
        """Take the money now; returns the provider's reference or raises PaymentDeclined."""
        ...

    def start_transfer(self, amount: int, currency: str, reference: str) -> str:
        """Give the buyer transfer instructions; returns the provider's reference."""
        ...

    def refund(
        self,
        payment_ref: str,
        method: str,
        amount: int,
        currency: str,
        reference: str,
        requested_at: datetime,
    ) -> RefundReceipt:
        """Pay `amount` back to the payment `payment_ref` (made with `method`), keyed by our
        `reference`; raises RefundDeclined or ProviderUnavailable.

        The same `reference` always gets the same receipt and moves the money once.
        `requested_at` is when we first sent this reference: a stateless sandbox counts the
        settlement from it; a real provider counts from its own first receipt of the key.
        """
        ...

    def refund_status(self, provider_ref: str, now: datetime) -> RefundStatus:
        """Where the refund with the provider's reference `provider_ref` stands at `now` (the
        sandbox's virtual time; a real provider answers as of its own)."""
        ...


# R5.2's windows, in days: what the sandbox uses when it is not given the policy's
DEFAULT_REFUND_WINDOWS: Mapping[str, tuple[int, int]] = {
    "card": (3, 7),
    "ewallet": (1, 3),
    "bank_transfer": (3, 21),
}


class SandboxPayments:
    """Accepts every payment and every refund; the same reference always gets the same answer, as
    a real provider's idempotency keys promise.

    It keeps no state, so any number of processes and restarts agree: a refund settles a whole
    number of days after it was requested, the day drawn from its reference within its method's
    window, and that time is carried in the provider reference that `refund_status` reads back.
    A refund that fails in the sandbox is reported by `/v1/sandbox/refunds/{id}/fail`.
    """

    def __init__(self, refund_windows: Mapping[str, tuple[int, int]] | None = None) -> None:
        self._windows = dict(refund_windows or DEFAULT_REFUND_WINDOWS)

    def capture(self, method: str, amount: int, currency: str, reference: str) -> str:
        return f"sbx_{method}_{_digest(reference)}"

    def start_transfer(self, amount: int, currency: str, reference: str) -> str:
        return f"sbx_transfer_{_digest(reference)}"

    def refund(
        self,
        payment_ref: str,
        method: str,
        amount: int,
        currency: str,
        reference: str,
        requested_at: datetime,
    ) -> RefundReceipt:
        settles_at = requested_at + timedelta(days=self.settlement_days(method, reference))
        return RefundReceipt(f"sbx_rf_{_digest(reference)}_{int(settles_at.timestamp())}", settles_at)

    def settlement_days(self, method: str, reference: str) -> int:
        """The day, within the method's window, that the refund `reference` settles on."""
        low, high = self._windows[method]
        return low + int(_digest(reference), 16) % (high - low + 1)

    def refund_status(self, provider_ref: str, now: datetime) -> RefundStatus:
        prefix, _, stamp = provider_ref.rpartition("_")
        if not prefix.startswith("sbx_rf_") or not stamp.isdigit():
            return RefundStatus("failed", f"unknown refund reference {provider_ref}")
        settles_at = datetime.fromtimestamp(int(stamp), UTC)
        return RefundStatus("settled" if now >= settles_at else "processing")


def _digest(reference: str) -> str:
    return hashlib.sha256(reference.encode()).hexdigest()[:12]
