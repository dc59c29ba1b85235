"""Per-account notifications (R8.5) and a store's payable balance (R6.5)."""

from __future__ import annotations

from typing import Any

from orderguard.app.access import not_found
from orderguard.app.context import Context, Principal
from orderguard.domain.ledger import seller_payable
from orderguard.domain.machine import Actor


def notifications(ctx: Context, who: Principal, limit: int) -> list[dict[str, Any]]:
    with ctx.reading() as uow:
        return uow.notifications.notifications_of(who.id, limit)


def store_balance(ctx: Context, who: Principal, store_id: str) -> dict[str, Any]:
    """What the platform owes the store: released escrow less commission, from postings."""
    with ctx.reading() as uow:
        owner = uow.catalogue.store_owner(store_id)
        if owner is None or (who.role is not Actor.ADMIN and owner != who.id):
            raise not_found("store", store_id)
        payable = uow.ledger.balance(seller_payable(store_id))
    return {
        "store_id": store_id,
        "account": seller_payable(store_id),
        "payable": [{"currency": c, "amount": a} for c, a in sorted(payable.items())],
    }
