"""Who may see and act on what: a buyer their own, a seller their stores', an admin all."""

from __future__ import annotations

from typing import TypeVar

from orderguard.app.context import Principal
from orderguard.app.ports import UnitOfWork
from orderguard.domain.decision import Subject
from orderguard.domain.machine import Actor, Refusal, Refused
from orderguard.domain.orders import Order


def not_found(what: str, ident: str) -> Refused:
    return Refused(Refusal(f"{what}_not_found", f"no {what} {ident}", 404))


def require_role(principal: Principal, *roles: Actor) -> None:
    if principal.role not in roles:
        names = " or ".join(str(r) for r in roles)
        raise Refused(Refusal("forbidden_role", f"only a {names} may do this", 403))


def role_on_order(uow: UnitOfWork, principal: Principal, order: Order) -> Actor | None:
    """The principal's part in this order, or None when it is none of their business."""
    if principal.role is Actor.ADMIN:
        return Actor.ADMIN
    if principal.role is Actor.BUYER and order.buyer_id == principal.id:
        return Actor.BUYER
    if principal.role is Actor.SELLER and uow.catalogue.store_owner(order.store_id) == principal.id:
        return Actor.SELLER
    return None


def visible_order(
    uow: UnitOfWork, principal: Principal, order: Order | None, order_id: str
) -> tuple[Order, Actor]:
    """The order and the principal's role on it; 404 (not 403) for others' orders, so ids leak nothing."""
    if order is None:
        raise not_found("order", order_id)
    role = role_on_order(uow, principal, order)
    if role is None:
        raise not_found("order", order_id)
    return order, role


Part = TypeVar("Part", bound=Subject)


def visible_part(
    uow: UnitOfWork, who: Principal, part: Part | None, what: str, ident: str, *, lock_order: bool = False
) -> tuple[Part, Order, Actor]:
    """A part of an order (a cancellation request, a proof request ...), its order (locked with
    `lock_order`) and the caller's role on it; 404 `<what>_not_found` for those it is none of the
    business of, as for a part that does not exist."""
    order = uow.orders.load_order(part.order_id, lock=lock_order) if part else None
    role = role_on_order(uow, who, order) if order else None
    if part is None or order is None or role is None:
        raise not_found(what, ident)
    return part, order, role
