"""Offer comparison (R2.2) and checkout planning (R3.2)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderguard.domain.catalogue import Offer, ShippingOption, rank_offers
from orderguard.domain.checkout import CartItem, plan_checkout
from orderguard.domain.machine import Refused
from orderguard.domain.policy import Policy


def offer(
    oid: str,
    price: int,
    ship_price: int = 0,
    days: int = 5,
    handling: int = 0,
    currency: str = "USD",
    store: str = "s1",
    stock: int = 10,
    options: tuple[ShippingOption, ...] | None = None,
) -> Offer:
    opts = options if options is not None else (ShippingOption(f"{oid}-std", "post", ship_price, days),)
    return Offer(oid, store, "p1", price, currency, stock, handling, opts)


def documented_score(landed: int, days: int, cheapest: int, fastest: int, weight: float) -> Fraction:
    return Fraction(landed, cheapest) + Fraction(weight) * Fraction(days, fastest)


# --- rank_offers -----------------------------------------------------------------------


def test_cheapest_and_fastest_offer_ranks_first() -> None:
    ranked = rank_offers([offer("a", 200, days=9), offer("b", 100, days=3)], 0.5)
    assert [r.offer.id for r in ranked] == ["b", "a"]
    assert [r.rank for r in ranked] == [1, 2]


def test_score_is_the_documented_formula() -> None:
    ranked = rank_offers([offer("a", 110, days=5), offer("b", 100, days=10)], 0.5)
    by_id = {r.offer.id: r for r in ranked}
    assert by_id["a"].score == pytest.approx(1.1 + 0.5 * 5 / 5)
    assert by_id["b"].score == pytest.approx(1.0 + 0.5 * 10 / 5)


def test_ten_percent_dearer_but_twice_as_fast_wins_at_weight_half() -> None:
    ranked = rank_offers([offer("slow", 100, days=10), offer("fast", 110, days=5)], 0.5)
    assert ranked[0].offer.id == "fast"


def test_landed_price_and_days_include_shipping_and_handling() -> None:
    [r] = rank_offers([offer("a", 1_000, ship_price=250, days=7, handling=3)], 0.5)
    assert r.landed_price == 1_250
    assert r.delivery_days == 10
    assert r.score == pytest.approx(1.5)


def test_weight_zero_ranks_by_landed_price_only() -> None:
    ranked = rank_offers([offer("fast", 101, days=1), offer("slow", 100, days=30)], 0.0)
    assert [r.offer.id for r in ranked] == ["slow", "fast"]


def test_exact_ties_go_to_the_earlier_offer() -> None:
    ranked = rank_offers([offer("first", 100, days=5), offer("second", 100, days=5)], 0.5)
    assert [r.offer.id for r in ranked] == ["first", "second"]


def test_mathematical_ties_go_to_the_earlier_offer() -> None:
    offers = [
        offer("best", 100, days=1),  # cheapest and fastest: the references
        offer("earlier", 103, days=3),  # 1.03 + 1.5 = 2.53
        offer("later", 203, days=1),  # 2.03 + 0.5 = 2.53
    ]
    ranked = rank_offers(offers, 0.5)
    assert ranked[1].score == ranked[2].score
    assert [r.offer.id for r in ranked] == ["best", "earlier", "later"]


def test_ranking_is_per_currency_in_order_of_first_offer() -> None:
    offers = [
        offer("e1", 900, currency="EUR"),
        offer("u1", 500, currency="USD"),
        offer("e2", 100, currency="EUR"),
        offer("u2", 400, currency="USD"),
    ]
    ranked = rank_offers(offers, 0.5)
    assert [(r.offer.id, r.rank) for r in ranked] == [("e2", 1), ("e1", 2), ("u2", 1), ("u1", 2)]


def test_currencies_are_not_compared_with_each_other() -> None:
    # a dear JPY offer is alone in its currency: it is its own cheapest, score 1 + weight
    ranked = rank_offers([offer("u", 100, currency="USD"), offer("j", 100_000, currency="JPY")], 0.5)
    assert {r.offer.id: (r.rank, r.score) for r in ranked} == {"u": (1, 1.5), "j": (1, 1.5)}


def test_offers_without_shipping_options_are_left_out() -> None:
    ranked = rank_offers([offer("none", 1, options=()), offer("a", 100)], 0.5)
    assert [r.offer.id for r in ranked] == ["a"]


def test_best_option_is_a_dominant_one() -> None:
    options = (
        ShippingOption("slow-dear", "post", 500, 20),
        ShippingOption("fast-cheap", "express", 100, 3),
        ShippingOption("mid", "post", 300, 10),
    )
    [r] = rank_offers([offer("a", 1_000, options=options)], 0.5)
    assert r.best_option.id == "fast-cheap"
    assert r.landed_price == 1_100
    assert r.delivery_days == 3


def test_best_option_trades_price_for_speed_by_the_weight() -> None:
    options = (
        ShippingOption("free-slow", "post", 0, 20),  # 1.0 + w * 2
        ShippingOption("paid-fast", "express", 100, 10),  # 1.1 + w * 1
    )
    assert rank_offers([offer("a", 1_000, options=options)], 0.5)[0].best_option.id == "paid-fast"
    assert rank_offers([offer("a", 1_000, options=options)], 0.05)[0].best_option.id == "free-slow"


def test_free_zero_priced_offer_does_not_divide_by_zero() -> None:
    ranked = rank_offers([offer("free", 0, days=0), offer("a", 100, days=2)], 0.5)
    assert [r.offer.id for r in ranked] == ["free", "a"]


offer_specs = st.lists(
    st.tuples(st.integers(1, 10_000), st.integers(0, 2_000), st.integers(1, 60), st.integers(0, 10)),
    min_size=1,
    max_size=8,
)


@given(offer_specs)
def test_ranks_are_one_to_n_and_scores_never_decrease(specs: list[tuple[int, int, int, int]]) -> None:
    offers = [offer(f"o{i}", p, s, d, h) for i, (p, s, d, h) in enumerate(specs)]
    ranked = rank_offers(offers, 0.5)
    assert [r.rank for r in ranked] == list(range(1, len(offers) + 1))
    assert sorted(r.offer.id for r in ranked) == sorted(o.id for o in offers)
    scores = [r.score for r in ranked]
    assert scores == sorted(scores)


@given(offer_specs)
def test_scores_match_the_documented_formula(specs: list[tuple[int, int, int, int]]) -> None:
    offers = [offer(f"o{i}", p, s, d, h) for i, (p, s, d, h) in enumerate(specs)]
    ranked = rank_offers(offers, 0.5)
    cheapest = min(p + s for p, s, _, _ in specs)
    fastest = min(d + h for _, _, d, h in specs)
    for r in ranked:
        expected = documented_score(r.landed_price, r.delivery_days, cheapest, fastest, 0.5)
        assert r.score == pytest.approx(float(expected), abs=1e-6)


def reference_ranking(offers: list[Offer], weight: float) -> list[tuple[str, str, float]]:
    """(offer, option, shown score) in rank order, by the formula in exact fractions."""
    w = Fraction(weight)

    def best(o: Offer) -> ShippingOption:
        cheapest = max(min(o.price + s.price for s in o.shipping_options), 1)
        fastest = max(min(o.handling_days + s.promised_days for s in o.shipping_options), 1)
        return min(
            o.shipping_options,
            key=lambda s: documented_score(
                o.price + s.price, o.handling_days + s.promised_days, cheapest, fastest, w
            ),
        )

    picks = [(o, best(o)) for o in offers]
    landed = [o.price + s.price for o, s in picks]
    days = [o.handling_days + s.promised_days for o, s in picks]
    cheapest, fastest = max(min(landed), 1), max(min(days), 1)
    scores = [documented_score(lp, d, cheapest, fastest, w) for lp, d in zip(landed, days, strict=True)]
    order = sorted(range(len(picks)), key=lambda i: (scores[i], i))
    return [(picks[i][0].id, picks[i][1].id, round(float(scores[i]), 6)) for i in order]


option_specs = st.lists(st.tuples(st.integers(0, 50), st.integers(0, 6)), min_size=1, max_size=4)


@given(
    st.lists(st.tuples(st.integers(0, 300), st.integers(0, 4), option_specs), min_size=1, max_size=8),
    st.sampled_from([0.0, 0.1, 0.25, 0.5, 1.0, 1.7, 3.0]),
)
def test_ranking_and_best_options_are_exactly_those_of_the_formula_in_fractions(
    specs: list[tuple[int, int, list[tuple[int, int]]]], weight: float
) -> None:
    """Small numbers make many exact ties: each must go to the earlier offer or option."""
    offers = [
        offer(
            f"o{i}",
            price,
            handling=h,
            options=tuple(ShippingOption(f"o{i}-{j}", "post", sp, sd) for j, (sp, sd) in enumerate(opts)),
        )
        for i, (price, h, opts) in enumerate(specs)
    ]
    ranked = rank_offers(offers, weight)
    assert [(r.offer.id, r.best_option.id, r.score) for r in ranked] == reference_ranking(offers, weight)


# --- plan_checkout ----------------------------------------------------------------------


def item(iid: str, offer_id: str, quantity: int = 1, option: str | None = None, **kw: object) -> CartItem:
    return CartItem(iid, offer_id, option or f"{offer_id}-std", quantity, **kw)  # type: ignore[arg-type]


def _code(items: list[CartItem], offers: dict[str, Offer], policy: Policy) -> tuple[str, int]:
    with pytest.raises(Refused) as e:
        plan_checkout(items, offers, policy)
    return e.value.refusal.code, e.value.refusal.status


def test_checkout_makes_one_draft_per_store(policy: Policy) -> None:
    offers = {
        "a": offer("a", 100, store="s1"),
        "b": offer("b", 200, store="s2"),
        "c": offer("c", 300, store="s1"),
    }
    drafts = plan_checkout([item("i1", "a"), item("i2", "b", 2), item("i3", "c")], offers, policy)
    assert [(d.store_id, [line.cart_item_id for line in d.lines]) for d in drafts] == [
        ("s1", ["i1", "i3"]),
        ("s2", ["i2"]),
    ]
    assert drafts[1].lines[0].quantity == 2


def test_checkout_stores_may_use_different_currencies(policy: Policy) -> None:
    offers = {
        "a": offer("a", 100, store="s1", currency="USD"),
        "b": offer("b", 100, store="s2", currency="EUR"),
    }
    drafts = plan_checkout([item("i1", "a"), item("i2", "b")], offers, policy)
    assert [(d.store_id, d.currency) for d in drafts] == [("s1", "USD"), ("s2", "EUR")]


def test_checkout_refuses_mixed_currencies_in_one_store(policy: Policy) -> None:
    offers = {"a": offer("a", 100, currency="USD"), "b": offer("b", 100, currency="EUR")}
    assert _code([item("i1", "a"), item("i2", "b")], offers, policy) == ("mixed_currencies", 422)


def test_checkout_skips_items_already_in_an_order(policy: Policy) -> None:
    offers = {"a": offer("a", 100), "b": offer("b", 100, store="s2")}
    drafts = plan_checkout([item("i1", "a", order_id="o9"), item("i2", "b")], offers, policy)
    assert [d.store_id for d in drafts] == ["s2"]


def test_checkout_of_an_empty_cart_is_refused(policy: Policy) -> None:
    assert _code([], {}, policy) == ("cart_empty", 409)


def test_checkout_of_a_cart_whose_items_are_all_ordered_is_refused(policy: Policy) -> None:
    assert _code([item("i1", "a", order_id="o1")], {"a": offer("a", 1)}, policy) == ("cart_empty", 409)


def test_checkout_refuses_more_than_the_stock(policy: Policy) -> None:
    assert _code([item("i1", "a", 4)], {"a": offer("a", 100, stock=3)}, policy) == ("insufficient_stock", 409)


def test_checkout_counts_stock_across_items_of_the_same_offer(policy: Policy) -> None:
    offers = {"a": offer("a", 100, stock=3)}
    assert _code([item("i1", "a", 2), item("i2", "a", 2)], offers, policy) == ("insufficient_stock", 409)


def test_checkout_accepts_exactly_the_stock(policy: Policy) -> None:
    [draft] = plan_checkout([item("i1", "a", 3)], {"a": offer("a", 100, stock=3)}, policy)
    assert draft.lines[0].quantity == 3


@pytest.mark.parametrize("quantity", [0, -1])
def test_checkout_refuses_a_non_positive_quantity(policy: Policy, quantity: int) -> None:
    assert _code([item("i1", "a", quantity)], {"a": offer("a", 100)}, policy) == ("invalid_quantity", 422)


def test_checkout_refuses_more_than_the_line_maximum(policy: Policy) -> None:
    offers = {"a": offer("a", 1, stock=10_000)}
    assert _code([item("i1", "a", 1_000)], offers, policy) == ("invalid_quantity", 422)


def test_checkout_refuses_a_negative_quantity_after_another_item_of_the_offer(policy: Policy) -> None:
    offers = {
        "a": offer("a", 100, options=(ShippingOption("std", "post", 0, 5), ShippingOption("exp", "x", 9, 1)))
    }
    items = [item("i1", "a", 5, option="std"), item("i2", "a", -3, option="exp")]
    assert _code(items, offers, policy) == ("invalid_quantity", 422)


def test_checkout_refuses_an_unknown_offer(policy: Policy) -> None:
    assert _code([item("i1", "gone")], {}, policy) == ("unknown_offer", 409)


def test_checkout_refuses_an_unknown_shipping_option(policy: Policy) -> None:
    offers = {"a": offer("a", 100)}
    assert _code([item("i1", "a", option="teleport")], offers, policy) == ("unknown_shipping_option", 409)


def test_checkout_refuses_a_total_beyond_64_bits(policy: Policy) -> None:
    offers = {"a": offer("a", 2**62), "b": offer("b", 2**62)}
    assert _code([item("i1", "a"), item("i2", "b")], offers, policy) == ("amount_out_of_range", 422)


def test_draft_line_knows_its_shipping_option(policy: Policy) -> None:
    [draft] = plan_checkout([item("i1", "a")], {"a": offer("a", 100, ship_price=250)}, policy)
    assert draft.lines[0].shipping.price == 250
