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


def _best_option(offer: Offer, weight: float) -> ShippingOption:
    cheapest = min(o.price for o in offer.shipping_options) + offer.price
    fastest = min(o.promised_days for o in offer.shipping_options)
    return min(
        offer.shipping_options,
        key=lambda o: (offer.price + o.price) / max(cheapest, 1) + weight * o.promised_days / max(fastest, 1),
    )


def rank_offers(offers: list[Offer], delivery_weight: float) -> list[RankedOffer]:
    """Rank offers per currency by the documented score; currencies in order of first offer."""
    by_currency: dict[str, list[Offer]] = {}
    for offer in offers:
        if offer.shipping_options:
            by_currency.setdefault(offer.currency, []).append(offer)
    ranked: list[RankedOffer] = []
    for group in by_currency.values():
        picks = [(o, _best_option(o, delivery_weight)) for o in group]
        landed = [o.price + opt.price for o, opt in picks]
        days = [o.handling_days + opt.promised_days for o, opt in picks]
        cheapest, fastest = max(min(landed), 1), max(min(days), 1)
        scored = [
            (lp / cheapest + delivery_weight * d / fastest, i)
            for i, (lp, d) in enumerate(zip(landed, days, strict=True))
        ]
        scored.sort()
        for rank, (score, i) in enumerate(scored, start=1):
            offer, option = picks[i]
            ranked.append(RankedOffer(offer, option, landed[i], days[i], round(score, 6), rank))
    return ranked
