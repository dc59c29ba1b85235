"""`Catalogue.product_comparison` reads what `load_product`, `offers_of_product` and `store_names` read."""

from __future__ import annotations

from orderguard.app.context import Context
from tests.support import Api


def test_the_comparison_is_what_each_read_reads(api: Api, ctx: Context) -> None:
    first = api.listing(price=12_00)
    api.listing(
        price=11_00,
        product_id=first.product_id,
        options=[
            {"carrier": "postal", "price": 3_00, "promised_days": 9},
            {"carrier": "dhl", "price": 9_00, "promised_days": 2},
        ],
    )
    with ctx.reading() as uow:
        product, offers, names = uow.catalogue.product_comparison(first.product_id)
        assert product == uow.catalogue.load_product(first.product_id)
        assert offers == uow.catalogue.offers_of_product(first.product_id) and len(offers) == 2
        assert names == uow.catalogue.store_names({o.store_id for o in offers}) and len(names) == 2


def test_no_comparison_of_a_product_that_does_not_exist(ctx: Context) -> None:
    with ctx.reading() as uow:
        assert uow.catalogue.product_comparison("prd_missing") == (None, [], {})
