"""Messages on an order (R4.7): the buyer and the store's seller write, they and administrators read.

A page of messages is oldest first, as a conversation is read; `next_cursor` continues after its
last message. A message is written under its order's lock, so the ids of one order's messages
follow the order in which they were committed and a reader paging with the cursor never skips one.
"""

from __future__ import annotations

from dataclasses import dataclass

from orderguard.app.access import visible_order
from orderguard.app.context import Context, Principal
from orderguard.domain import messages
from orderguard.domain.machine import Refusal, Refused
from orderguard.domain.messages import Message


@dataclass(frozen=True, slots=True)
class MessagePage:
    order_id: str
    messages: list[Message]
    next_cursor: str | None


def post_message(ctx: Context, who: Principal, order_id: str, text: str) -> Message:
    """The buyer or the store's seller writes on the order; the other party is told."""
    now = ctx.clock.now()
    with ctx.uow() as uow:
        order, role = visible_order(uow, who, uow.orders.load_order(order_id, lock=True), order_id)
        messages.check_author(role)
        body = messages.message_body(text)
        message = uow.messages.insert_message(order.id, who.id, str(role), body, now)
        note = messages.notice(order.id, role, body)
        uow.notifications.notify([(order.id, note.recipient, note.kind, note.text)], now)
    return message


def list_messages(ctx: Context, who: Principal, order_id: str, cursor: str | None, limit: int) -> MessagePage:
    after = decode_message_cursor(cursor) if cursor else None
    with ctx.reading() as uow:
        order, _ = visible_order(uow, who, uow.orders.load_order(order_id), order_id)
        found = uow.messages.messages_page(order.id, after, limit + 1)
    page = found[:limit]
    return MessagePage(order.id, page, str(page[-1].id) if len(found) > limit else None)


def decode_message_cursor(cursor: str) -> int:
    """A cursor is the id of the last message of the previous page; opaque to clients."""
    if not cursor.isascii() or not cursor.isdigit() or len(cursor) > 18:
        raise Refused(Refusal("invalid_cursor", "the cursor is not one this API gave out", 422))
    return int(cursor)
