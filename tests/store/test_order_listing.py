"""`UnitOfWork.order_listing` reads the page that the filters select, and for its orders what the
repositories' own functions read."""

from __future__ import annotations

from orderguard.app.context import Context
from orderguard.app.ports import OrderListingData, UnitOfWork
from orderguard.domain.orders import Order
from tests.app.fakes import order_listing_of_single_reads
from tests.dispute_support import shipped
from tests.support import Api


def _same(uow: UnitOfWork, listing: OrderListingData, *, buyer_parts: bool) -> None:
    alone = order_listing_of_single_reads(uow, listing.orders, listing.more, buyer_parts=buyer_parts)
    assert listing.orders == alone.orders
    assert listing.deadline_dues == alone.deadline_dues
    assert (listing.shipped, listing.open_requests) == (alone.shipped, alone.open_requests)
    assert listing.shipments == alone.shipments
    assert listing.disputes() == alone.disputes()


def _newest_first(orders: list[Order]) -> list[Order]:
    return sorted(orders, key=lambda o: (o.placed_at, o.id), reverse=True)


def test_pages_of_a_buyer_and_of_a_store(api: Api, ctx: Context) -> None:
    case = shipped(api)  # shipped, then disputed: its dispute window is open
    case.open()
    unpaid = api.place(case.buyer, case.listing)
    paid = api.place(case.buyer, case.listing)
    api.pay(case.buyer, paid["id"])
    ids = [case.order["id"], unpaid["id"], paid["id"]]
    with ctx.reading() as uow:
        every = _newest_first(list(uow.orders.load_orders(ids).values()))
        first = uow.order_listing(
            buyer_id=case.buyer.id, store_ids=None, status=None, after=None, limit=2, buyer_parts=True
        )
        assert first.orders == every[:2] and first.more
        _same(uow, first, buyer_parts=True)
        last = first.orders[-1]
        rest = uow.order_listing(
            buyer_id=case.buyer.id,
            store_ids=None,
            status=None,
            after=(last.placed_at, last.id),
            limit=2,
            buyer_parts=True,
        )
        assert rest.orders == every[2:] and not rest.more
        _same(uow, rest, buyer_parts=True)
        disputed = case.order["id"]  # on whichever page it is (the sandbox clock stands still: ids decide)
        assert (first.disputes() | rest.disputes())[disputed]
        assert (first.shipments | rest.shipments)[disputed]

        store = uow.order_listing(
            buyer_id=None,
            store_ids={case.listing.store_id},
            status="disputed",
            after=None,
            limit=50,
            buyer_parts=False,
        )
        assert [o.id for o in store.orders] == [case.order["id"]] and not store.more
        assert (store.shipped, store.open_requests, store.shipments, store.disputes()) == ({}, {}, {}, {})
        _same(uow, store, buyer_parts=False)


def test_pages_of_every_order(api: Api, ctx: Context) -> None:
    """An administrator's pages: the page's keys are chosen first, then their orders read."""
    listing = api.listing()
    placed = [api.place(api.buyer(name), listing)["id"] for name in ("Ann", "Bob", "Cy")]
    dee = api.buyer("Dee")
    api.pay(dee, api.place(dee, listing)["id"])  # paid: not in the pages of unpaid orders
    with ctx.reading() as uow:
        every = _newest_first(list(uow.orders.load_orders(placed).values()))
        first = uow.order_listing(
            buyer_id=None, store_ids=None, status="awaiting_payment", after=None, limit=2, buyer_parts=False
        )
        assert first.orders == every[:2] and first.more
        _same(uow, first, buyer_parts=False)
        last = first.orders[-1]
        rest = uow.order_listing(
            buyer_id=None,
            store_ids=None,
            status="awaiting_payment",
            after=(last.placed_at, last.id),
            limit=2,
            buyer_parts=False,
        )
        assert rest.orders == every[2:] and not rest.more
        everything = uow.order_listing(
            buyer_id=None, store_ids=None, status=None, after=None, limit=50, buyer_parts=False
        )
        assert len(everything.orders) == 4 and not everything.more
        assert everything.orders == _newest_first(everything.orders)


def test_an_empty_page(ctx: Context) -> None:
    with ctx.reading() as uow:
        empty = uow.order_listing(
            buyer_id="acc_none", store_ids=None, status=None, after=None, limit=50, buyer_parts=True
        )
        assert (empty.orders, empty.more, empty.deadline_dues, empty.disputes()) == ([], False, {}, {})
