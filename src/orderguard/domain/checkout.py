"""Checkout: a cart becomes one order per store (R3.2), each paid by a pay-by time (R3.3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from orderguard.domain.catalogue import Offer, ShippingOption
from orderguard.domain.machine import Refusal, Refused
from orderguard.domain.money import MAX_MINOR
from orderguard.domain.policy import Policy


@dataclass(frozen=True, slots=True)
class CartItem:
    id: str
    offer_id: str
    shipping_option_id: str
    quantity: int
    order_id: str | None = None  # set once checked out into an unpaid order


@dataclass(frozen=True, slots=True)
class DraftLine:
    cart_item_id: str
    offer: Offer
    shipping_option_id: str
    quantity: int

    @property
    def shipping(self) -> ShippingOption:
        option = self.offer.option(self.shipping_option_id)
        assert option is not None, "plan_checkout only drafts lines with a known option"
        return option


@dataclass(frozen=True, slots=True)
class DraftOrder:
    store_id: str
    currency: str
    lines: tuple[DraftLine, ...]


def check_quantity(quantity: int, offer: Offer, policy: Policy) -> None:
    if quantity <= 0:
        raise Refused(Refusal("invalid_quantity", "quantity must be at least 1", 422))
    if quantity > policy.catalogue.max_quantity_per_line:
        raise Refused(
            Refusal(
                "invalid_quantity",
                f"quantity may not exceed {policy.catalogue.max_quantity_per_line} per line",
                422,
            )
        )
    if quantity > offer.stock:
        raise Refused(
            Refusal(
                "insufficient_stock",
                f"only {offer.stock} left of offer {offer.id}",
                409,
            )
        )


def check_addition(quantity: int) -> None:
    """A cart addition adds at least one unit.

    Each addition moves the cart's last-added time, from which pay-by runs (R3.3): an
    addition of 0 or fewer units would push pay-by out without adding anything.
    Lowering a line is `check_decrease`, which never moves that time.
    """
    if quantity < 1:
        raise Refused(
            Refusal("invalid_quantity", "an addition adds at least 1 unit; lower a line with a decrease", 422)
        )


def check_decrease(current: int, new_quantity: int) -> None:
    """A line may be lowered to any quantity from 1 to what it holds (the same: nothing changes).

    Raising it is an addition, which moves last-added time; going to 0 is removing the line.
    """
    if new_quantity < 1:
        raise Refused(
            Refusal("invalid_quantity", "a line keeps at least 1 unit; remove the line instead", 422)
        )
    if new_quantity > current:
        raise Refused(
            Refusal(
                "not_a_decrease",
                f"the line holds {current}: to raise it to {new_quantity}, add the difference to the cart",
                409,
            )
        )


def plan_checkout(items: list[CartItem], offers: dict[str, Offer], policy: Policy) -> list[DraftOrder]:
    """Group the cart's free items by store; refuse what cannot be ordered, writing nothing."""
    free = [i for i in items if i.order_id is None]
    if not free:
        raise Refused(Refusal("cart_empty", "the cart has nothing to check out", 409))
    by_store: dict[str, list[DraftLine]] = {}
    wanted: dict[str, int] = {}
    for item in free:
        offer = offers.get(item.offer_id)
        if offer is None:
            raise Refused(Refusal("unknown_offer", f"offer {item.offer_id} is gone", 409))
        if offer.option(item.shipping_option_id) is None:
            raise Refused(Refusal("unknown_shipping_option", "shipping option is gone", 409))
        check_quantity(item.quantity, offer, policy)
        wanted[offer.id] = wanted.get(offer.id, 0) + item.quantity
        if wanted[offer.id] > offer.stock:
            raise Refused(Refusal("insufficient_stock", f"only {offer.stock} left of offer {offer.id}", 409))
        by_store.setdefault(offer.store_id, []).append(
            DraftLine(item.id, offer, item.shipping_option_id, item.quantity)
        )
    drafts: list[DraftOrder] = []
    for store_id, lines in by_store.items():
        currencies = {line.offer.currency for line in lines}
        if len(currencies) > 1:
            named = " and ".join(sorted(currencies))
            raise Refused(
                Refusal(
                    "mixed_currencies",
                    f"store {store_id} offers these items in {named}: one currency per order",
                    422,
                )
            )
        total = sum(line.offer.price * line.quantity + line.shipping.price for line in lines)
        if total > MAX_MINOR:
            raise Refused(Refusal("amount_out_of_range", "order total does not fit in 64 bits", 422))
        drafts.append(DraftOrder(store_id, currencies.pop(), tuple(lines)))
    return drafts


def pay_by(last_cart_addition: datetime, policy: Policy) -> datetime:
    return last_cart_addition + timedelta(days=policy.checkout.unpaid_expiry_days)
