"""The sandbox provider's refunds (R5.2): settled in virtual time within each method's window, on a
day drawn from the refund id, with no state of its own (any process, any restart, the same answer)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from orderguard.app.context import load_policy_file
from orderguard.providers.payments import RefundStatus, SandboxPayments

AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
WINDOWS = load_policy_file().policy.refunds.windows()


@pytest.mark.parametrize("method", ["card", "ewallet", "bank_transfer"])
def test_each_method_settles_within_its_window_on_a_day_drawn_from_the_refund_id(method: str) -> None:
    low, high = WINDOWS[method]
    provider = SandboxPayments(WINDOWS)
    days = Counter()
    for n in range(400):
        receipt = provider.refund("sbx_card_x", method, 100, "USD", f"rfd_{n:04d}", AT)
        offset = receipt.settles_at - AT
        assert offset == timedelta(days=offset.days) and low <= offset.days <= high
        days[offset.days] += 1
    assert set(days) == set(range(low, high + 1))  # every day of the window is drawn


def test_the_same_refund_id_gets_the_same_receipt_from_any_process() -> None:
    first = SandboxPayments(WINDOWS).refund("p", "card", 100, "USD", "rfd_1", AT)
    again = SandboxPayments(WINDOWS).refund("p", "card", 100, "USD", "rfd_1", AT)
    assert first == again
    other = SandboxPayments(WINDOWS).refund("p", "card", 100, "USD", "rfd_1~1", AT)
    assert other.reference != first.reference  # a retry after a failure is another refund


def test_the_status_is_read_back_from_the_reference_in_virtual_time() -> None:
    provider = SandboxPayments(WINDOWS)
    receipt = provider.refund("p", "bank_transfer", 100, "USD", "rfd_9", AT)
    before = receipt.settles_at - timedelta(seconds=1)
    assert SandboxPayments().refund_status(receipt.reference, before) == RefundStatus("processing")
    assert SandboxPayments().refund_status(receipt.reference, receipt.settles_at) == RefundStatus("settled")
    assert SandboxPayments().refund_status("nonsense", AT).state == "failed"


def test_the_context_gives_the_sandbox_the_policys_windows() -> None:
    assert SandboxPayments(WINDOWS).settlement_days("ewallet", "rfd_x") in range(1, 4)
    assert WINDOWS == {"card": (3, 7), "ewallet": (1, 3), "bank_transfer": (3, 21)}
