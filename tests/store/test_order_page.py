"""`UnitOfWork.order_page` reads what the repositories' own functions read, all at once."""

from __future__ import annotations

from orderguard.app.context import Context
from tests.app.fakes import order_page_of_single_reads
from tests.dispute_support import shipped_two_lines
from tests.support import Api


def _shipped_two_line_order(api: Api) -> str:
    """A paid order of two lines, shipped in one parcel that has a scan."""
    case = shipped_two_lines(api)
    (parcel,) = case.order["shipments"]
    api.post(f"/v1/sandbox/shipments/{parcel['id']}/scans", json={"kind": "accepted"}, expect=200)
    return str(case.order["id"])


def test_the_page_is_what_each_repository_reads(api: Api, ctx: Context) -> None:
    order_id = _shipped_two_line_order(api)
    with ctx.reading() as uow:
        page = uow.order_page(order_id, buyer_parts=True)
        assert page is not None
        alone = order_page_of_single_reads(uow, order_id, buyer_parts=True)
        assert page == alone
        assert len(page.shipments) == 1 and len(page.shipments[0].lines) == 2 and page.scans
        assert list(page.shipments[0].lines) == sorted(page.shipments[0].lines)  # line id order
        assert page.money.in_escrow > 0 and page.payments and page.deadline_dues

        given = uow.order_page(order_id, buyer_parts=False, loaded=page.order)
        assert given is not None and given.order is page.order
        assert (given.shipped, given.open_requests, given.disputes) == ({}, [], [])
        assert (given.shipments, given.money, given.payments) == (page.shipments, page.money, page.payments)


def test_no_page_for_an_order_that_does_not_exist(ctx: Context) -> None:
    with ctx.reading() as uow:
        assert uow.order_page("ord_missing", buyer_parts=True) is None
