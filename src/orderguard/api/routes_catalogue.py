"""Stores, products, offers and the offer comparison (R2.1, R2.2)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from orderguard.api import models, views
from orderguard.api.auth import context, current_principal
from orderguard.api.problems import errors
from orderguard.api.routing import ApiRoute
from orderguard.api.schemas import Cursor, OfferIn, PathId, ProductIn, SearchText, StoreIn
from orderguard.app import catalogue
from orderguard.app.context import Context, Principal
from orderguard.app.ports import ProductListing, StoreListing

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


RANKING = (
    "score = landed/cheapest_landed + delivery_weight * days/fastest_days, per currency; lower is better"
)


@router.get(
    "/products/{product_id}/offers",
    operation_id="listProductOffers",
    response_model=models.ProductOffers,
    responses=errors(401, 404, 422),
)
def product_offers(
    product_id: PathId, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> Response:
    """Every store's offer of the product, best first (see `domain/catalogue.py` for the score)."""
    product, ranked, names = catalogue.ranked_offers(ctx, product_id)
    return views.product_offers(product, RANKING, ranked, names)


def _product(p: ProductListing) -> models.CatalogueProduct:
    return models.CatalogueProduct(
        id=p.id, title=p.title, description=p.description, created_at=p.created_at, offer_count=p.offer_count
    )


def _store(s: StoreListing, who: Principal) -> models.CatalogueStore:
    return models.CatalogueStore(
        id=s.id, name=s.name, created_at=s.created_at, offer_count=s.offer_count, yours=s.seller_id == who.id
    )


Limit = Annotated[int, Query(ge=1, le=200, description="at most this many per page")]


@router.get("/products", operation_id="listProducts", responses=errors(401, 422))
def list_products(
    q: SearchText = None,  # type: ignore[assignment]
    cursor: Cursor = None,  # type: ignore[assignment]
    limit: Limit = 50,
    who: Principal = Depends(current_principal),
    ctx: Context = Depends(context),
) -> models.ProductPage:
    """The catalogue, oldest first, a page at a time: every product, or those whose title holds every
    word of `q`, in any case. Each product's offers, ranked, are at `/v1/products/{id}/offers`."""
    page = catalogue.list_products(ctx, who, q, cursor, limit)
    return models.ProductPage(products=[_product(p) for p in page.products], next_cursor=page.next_cursor)


@router.get("/products/{product_id}", operation_id="getProduct", responses=errors(401, 404, 422))
def get_product(
    product_id: PathId, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> models.CatalogueProduct:
    """One product of the catalogue, with how many stores offer it."""
    return _product(catalogue.get_product(ctx, who, product_id))


@router.get("/stores", operation_id="listStores", responses=errors(401, 422))
def list_stores(
    mine: Annotated[bool, Query(description="only the caller's own stores (a seller's)")] = False,
    cursor: Cursor = None,  # type: ignore[assignment]
    limit: Limit = 50,
    who: Principal = Depends(current_principal),
    ctx: Context = Depends(context),
) -> models.StorePage:
    """The marketplace's stores, oldest first, a page at a time; `mine=true` for the caller's own."""
    page = catalogue.list_stores(ctx, who, mine, cursor, limit)
    return models.StorePage(stores=[_store(s, who) for s in page.stores], next_cursor=page.next_cursor)


@router.get("/stores/{store_id}", operation_id="getStore", responses=errors(401, 404, 422))
def get_store(
    store_id: PathId, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> models.CatalogueStore:
    """One store, with how many products it offers and whether it is the caller's."""
    return _store(catalogue.get_store(ctx, who, store_id), who)
