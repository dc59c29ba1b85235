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

from collections.abc import Sequence
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


def _scaled_scores(landed: Sequence[int], days: Sequence[int], weight: Fraction) -> tuple[list[int], int]:
    """The documented scores of candidates with these landed prices and days, exact, as whole
    numbers over one denominator: with weight = p / q,

        score = landed / cheapest + p / q * days / fastest
              = (landed * fastest * q + p * days * cheapest) / (cheapest * fastest * q)

    so they compare as whole numbers (equal scores compare equal: ties keep listing order) and are
    divided only to be shown. Fractions gave the same order at a tenth of the speed."""
    cheapest, fastest = max(min(landed), 1), max(min(days), 1)
    p, q = weight.numerator, weight.denominator
    scaled = [lp * fastest * q + p * d * cheapest for lp, d in zip(landed, days, strict=True)]
    return scaled, cheapest * fastest * q


def best_option(offer: Offer, weight: Fraction | float) -> ShippingOption:
    """The offer's option with the best score among its own options (same formula).

    It is the option the comparison shows, and the one a cart line gets when the buyer picks none.
    """
    options = offer.shipping_options
    if len(options) == 1:  # most offers: nothing to compare
        return options[0]
    scores, _ = _scaled_scores(
        [offer.price + o.price for o in options],
        [offer.handling_days + o.promised_days for o in options],
        weight if isinstance(weight, Fraction) else Fraction(weight),
    )
    return options[scores.index(min(scores))]


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
        scores, denominator = _scaled_scores(landed, days, weight)
        for rank, (score, i) in enumerate(sorted((s, i) for i, s in enumerate(scores)), start=1):
            offer, option = picks[i]
            ranked.append(RankedOffer(offer, option, landed[i], days[i], round(score / denominator, 6), rank))
    return ranked
