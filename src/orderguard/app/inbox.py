"""Per-account notifications (R8.5), a store's payable balance (R6.5) and its fines (R4.3, R4.8).

A store's payable balance may go negative: a fine is taken from it at once, whatever it holds,
and a negative balance is settled against the store's next payouts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orderguard.app.access import not_found
from orderguard.app.context import Context, Principal
from orderguard.app.cursors import decode_cursor, encode_cursor
from orderguard.domain.fines import Fine
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


@dataclass(frozen=True, slots=True)
class FinePage:
    fines: list[Fine]
    next_cursor: str | None


def store_fines(ctx: Context, who: Principal, store_id: str, cursor: str | None, limit: int) -> FinePage:
    """The store's fines (R4.3, R4.8), newest first: to its seller and administrators."""
    with ctx.reading() as uow:
        owner = uow.catalogue.store_owner(store_id)
        if owner is None or (who.role is not Actor.ADMIN and owner != who.id):
            raise not_found("store", store_id)
        after = decode_cursor(cursor) if cursor else None
        rows = uow.cancellations.fines_of(store_id, after, limit + 1)
    page = rows[:limit]
    more = len(rows) > limit
    return FinePage(page, encode_cursor(page[-1].created_at, page[-1].id) if more else None)
