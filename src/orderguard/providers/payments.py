"""The payment-provider port and its sandbox adapter.

Card and e-wallet payments are captured at once; a bank transfer is only
started here and reported credited (or failed) by the provider later, in
the sandbox through `/v1/sandbox/payments/{id}/credit` and `/fail`.
"""

from __future__ import annotations

import secrets
from typing import Protocol


class PaymentDeclined(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PaymentProvider(Protocol):
    def capture(self, method: str, amount: int, currency: str, reference: str) -> str:
        """Take the money now; returns the provider's reference or raises PaymentDeclined."""
        ...

    def start_transfer(self, amount: int, currency: str, reference: str) -> str:
        """Give the buyer transfer instructions; returns the provider's reference."""
        ...


class SandboxPayments:
    """Accepts every payment; references look like a real provider's."""

    def capture(self, method: str, amount: int, currency: str, reference: str) -> str:
        return f"sbx_{method}_{secrets.token_hex(6)}"

    def start_transfer(self, amount: int, currency: str, reference: str) -> str:
        return f"sbx_transfer_{secrets.token_hex(6)}"
