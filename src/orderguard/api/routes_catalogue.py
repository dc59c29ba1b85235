"""Stores, products, offers and the offer comparison (R2.1, R2.2)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from orderguard.api import models, views
from orderguard.api.auth import context, current_principal
from orderguard.api.problems import errors
from orderguard.api.routing import ApiRoute
from orderguard.api.schemas import OfferIn, PathId, ProductIn, StoreIn
from orderguard.app import catalogue
from orderguard.app.context import Context, Principal

router = APIRouter(prefix="/v1", tags=["catalogue"], route_class=ApiRoute)

_CREATE = errors(400, 401, 403, 409, 413, 415, 422)


@router.post("/stores", status_code=201, operation_id="createStore", responses=_CREATE)
def create_store(
    body: StoreIn, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> models.Store:
    """A seller opens a store."""
    return models.Store(**catalogue.create_store(ctx, who, body.name))


@router.post("/products", status_code=201, operation_id="createProduct", responses=_CREATE)
def create_product(
    body: ProductIn, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> models.Product:
    """A seller (or an administrator) adds a product to the catalogue."""
    return models.Product(**catalogue.create_product(ctx, who, body.title, body.description))


@router.post(
    "/offers",
    status_code=201,
    operation_id="createOffer",
    responses=errors(400, 401, 403, 404, 409, 413, 415, 422),
)
def create_offer(
    body: OfferIn, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> models.Offer:
    """A seller offers a product from one of their stores (one offer per store and product)."""
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
    return views.offer(offer)


@router.get(
    "/products/{product_id}/offers", operation_id="listProductOffers", responses=errors(401, 404, 422)
)
def product_offers(
    product_id: PathId, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> models.ProductOffers:
    """Every store's offer of the product, best first (see `domain/catalogue.py` for the score)."""
    product, ranked, names = catalogue.ranked_offers(ctx, product_id)
    return models.ProductOffers(
        product=models.Product(**product),
        ranking="score = landed/cheapest_landed + delivery_weight * days/fastest_days, per currency; "
        "lower is better",
        offers=[views.ranked(r, names.get(r.offer.store_id, "")) for r in ranked],
    )
