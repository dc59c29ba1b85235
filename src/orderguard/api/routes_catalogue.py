"""Stores, products, offers and the offer comparison (R2.1, R2.2)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from orderguard.api.auth import context, current_principal
from orderguard.api.schemas import OfferIn, ProductIn, StoreIn
from orderguard.api.views import offer_json, ranked_json
from orderguard.app import catalogue
from orderguard.app.context import Context, Principal

router = APIRouter(prefix="/v1", tags=["catalogue"])


@router.post("/stores", status_code=201)
def create_store(
    body: StoreIn, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> dict[str, Any]:
    return catalogue.create_store(ctx, who, body.name)


@router.post("/products", status_code=201)
def create_product(
    body: ProductIn, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> dict[str, Any]:
    return catalogue.create_product(ctx, who, body.title, body.description)


@router.post("/offers", status_code=201)
def create_offer(
    body: OfferIn, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> dict[str, Any]:
    offer = catalogue.create_offer(
        ctx,
        who,
        body.store_id,
        body.product_id,
        body.price,
        body.currency,
        body.stock,
        body.handling_days,
        [catalogue.OptionInput(o.carrier, o.price, o.promised_days) for o in body.shipping_options],
    )
    return offer_json(offer)


@router.get("/products/{product_id}/offers")
def product_offers(
    product_id: str, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> dict[str, Any]:
    """Every store's offer of the product, best first (see `domain/catalogue.py` for the score)."""
    product, ranked, names = catalogue.ranked_offers(ctx, product_id)
    return {
        "product": product,
        "ranking": "score = landed/cheapest_landed + delivery_weight * days/fastest_days, per currency; "
        "lower is better",
        "offers": [ranked_json(r, names.get(r.offer.store_id, "")) for r in ranked],
    }
