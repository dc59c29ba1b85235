"""The payment-provider port and its sandbox adapter.

Card and e-wallet payments are captured at once; a bank transfer is only
started here and reported credited (or failed) by the provider later, in
the sandbox through `/v1/sandbox/payments/{id}/credit` and `/fail`.

Every call carries OrderGuard's payment id as the provider's idempotency key:
asked twice about the same payment, a provider answers the same and takes the
money once. It is never called inside a database transaction.
"""

from __future__ import annotations

import hashlib
from typing import Protocol


class PaymentDeclined(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ProviderUnavailable(Exception):
    """The provider could not be reached or did not answer; the same call may be retried."""


class PaymentProvider(Protocol):
    def capture(self, method: str, amount: int, currency: str, reference: str) -> str:
        """Take the money now; returns the provider's reference or raises PaymentDeclined."""
        ...

    def start_transfer(self, amount: int, currency: str, reference: str) -> str:
        """Give the buyer transfer instructions; returns the provider's reference."""
        ...


class SandboxPayments:
    """Accepts every payment; the same reference always gets the same answer, as a real provider's
    idempotency keys promise."""

    def capture(self, method: str, amount: int, currency: str, reference: str) -> str:
        return f"sbx_{method}_{_digest(reference)}"

    def start_transfer(self, amount: int, currency: str, reference: str) -> str:
        return f"sbx_transfer_{_digest(reference)}"


def _digest(reference: str) -> str:
    return hashlib.sha256(reference.encode()).hexdigest()[:12]
