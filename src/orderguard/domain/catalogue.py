"""Offers and their comparison (R2.1, R2.2).

Ranking score, lower is better, computed per currency among a product's
offers, over each offer's best shipping option:

    score = landed / cheapest_landed + delivery_weight * days / fastest_days

where landed = unit price + shipping price and days = handling days +
promised delivery days. The cheapest and fastest offer each contribute 1.0
for their strong side, so a 10% dearer offer that arrives twice as fast wins
when delivery_weight is 0.5 (1.1 + 0.5 < 1.0 + 1.0). Ties go to the earlier
listed offer. Seller scorecards (R8.3) join the score when they exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True, slots=True)
class ShippingOption:
    id: str
    carrier: str
    price: int
    promised_days: int


@dataclass(frozen=True, slots=True)
class Offer:
    id: str
    store_id: str
    product_id: str
    price: int
    currency: str
    stock: int
    handling_days: int
    shipping_options: tuple[ShippingOption, ...]

    def option(self, option_id: str) -> ShippingOption | None:
        return next((o for o in self.shipping_options if o.id == option_id), None)


@dataclass(frozen=True, slots=True)
class RankedOffer:
    offer: Offer
    best_option: ShippingOption
    landed_price: int
    delivery_days: int
    score: float
    rank: int


def _score(landed: int, days: int, cheapest: int, fastest: int, weight: Fraction) -> Fraction:
    """The documented score, exact: equal scores compare equal, so ties keep listing order."""
    return Fraction(landed, max(cheapest, 1)) + weight * Fraction(days, max(fastest, 1))


def best_option(offer: Offer, weight: Fraction | float) -> ShippingOption:
    """The offer's option with the best score among its own options (same formula).

    It is the option the comparison shows, and the one a cart line gets when the buyer picks none.
    """
    weight = Fraction(weight)
    cheapest = offer.price + min(o.price for o in offer.shipping_options)
    fastest = offer.handling_days + min(o.promised_days for o in offer.shipping_options)
    return min(
        offer.shipping_options,
        key=lambda o: _score(
            offer.price + o.price, offer.handling_days + o.promised_days, cheapest, fastest, weight
        ),
    )


def rank_offers(offers: list[Offer], delivery_weight: float) -> list[RankedOffer]:
    """Rank offers per currency by the documented score; currencies in order of first offer."""
    by_currency: dict[str, list[Offer]] = {}
    for offer in offers:
        if offer.shipping_options:
            by_currency.setdefault(offer.currency, []).append(offer)
    ranked: list[RankedOffer] = []
    weight = Fraction(delivery_weight)
    for group in by_currency.values():
        picks = [(o, best_option(o, weight)) for o in group]
        landed = [o.price + opt.price for o, opt in picks]
        days = [o.handling_days + opt.promised_days for o, opt in picks]
        cheapest, fastest = min(landed), min(days)
        scored = sorted(
            (_score(lp, d, cheapest, fastest, weight), i)
            for i, (lp, d) in enumerate(zip(landed, days, strict=True))
        )
        for rank, (score, i) in enumerate(scored, start=1):
            offer, option = picks[i]
            ranked.append(RankedOffer(offer, option, landed[i], days[i], round(float(score), 6), rank))
    return ranked
