"""R4.7: the buyer and the seller message each other on the order."""

from __future__ import annotations

from typing import Any

from tests.api.helpers import assert_problem, writes_nothing
from tests.scenarios.test_r6_fulfilment import paid_order
from tests.support import Api, Who


def _write(api: Api, order_id: str, who: Who, body: str, expect: int = 201) -> dict[str, Any]:
    return dict(api.post(f"/v1/orders/{order_id}/messages", who, {"body": body}, expect=expect).json())


def _read(api: Api, order_id: str, who: Who, **params: Any) -> dict[str, Any]:
    return dict(api.get(f"/v1/orders/{order_id}/messages", who, **params).json())


def _notes(api: Api, who: Who) -> list[dict[str, Any]]:
    return [n for n in api.get("/v1/notifications", who).json()["notifications"] if n["kind"] == "message"]


def test_r4_7_buyer_and_seller_write_to_each_other_and_the_other_is_told(api: Api) -> None:
    buyer, listing, order = paid_order(api)
    seller = listing.seller
    asked = _write(api, order["id"], buyer, "  Could you ship it in a box?\nThanks!  ")
    assert (asked["author_id"], asked["author_role"]) == (buyer.id, "buyer")
    assert asked["body"] == "Could you ship it in a box?\nThanks!"  # stored without outer white space
    [note] = _notes(api, seller)
    assert note["order_id"] == order["id"]
    assert "the buyer wrote" in note["text"] and "Could you ship it in a box? Thanks!" in note["text"]
    assert _notes(api, buyer) == []  # the author is not told of their own message

    api.advance(hours=2)
    answered = _write(api, order["id"], seller, "Yes, of course.")
    assert answered["author_role"] == "seller" and answered["id"] > asked["id"]
    [note] = _notes(api, buyer)
    assert "the seller wrote" in note["text"] and "Yes, of course." in note["text"]

    admin = api.account("admin", "Ada")
    for reader in (buyer, seller, admin):
        page = _read(api, order["id"], reader)
        assert [m["body"] for m in page["messages"]] == [asked["body"], "Yes, of course."]  # oldest first
        assert page["next_cursor"] is None
    assert page["messages"][1]["created_at"] > page["messages"][0]["created_at"]


def test_r4_7_a_long_conversation_is_read_page_by_page_oldest_first(api: Api) -> None:
    buyer, listing, order = paid_order(api)
    for i in range(5):
        _write(api, order["id"], buyer if i % 2 == 0 else listing.seller, f"message {i}")
    seen: list[str] = []
    cursor = None
    while True:
        page = _read(api, order["id"], buyer, limit=2, **({"cursor": cursor} if cursor else {}))
        seen += [m["body"] for m in page["messages"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"message {i}" for i in range(5)]
    assert_problem(
        api.get(f"/v1/orders/{order['id']}/messages", buyer, expect=None, cursor="not-a-cursor"),
        422,
        "invalid_cursor",
    )


def test_r4_7_an_empty_or_too_long_message_is_refused_and_writes_nothing(api: Api) -> None:
    buyer, _, order = paid_order(api)
    path = f"/v1/orders/{order['id']}/messages"
    for body, code in (
        ("", "message_empty"),
        (" \n\t ", "message_empty"),
        ("x" * 2001, "message_too_long"),
        (" " + "x" * 2000, "message_too_long"),  # the limit counts the text as sent
    ):
        with writes_nothing(api):
            assert_problem(api.post(path, buyer, {"body": body}), 422, code)
    with writes_nothing(api):
        r = api.post(path, buyer, {"body": "look \u202eevil"})
    assert assert_problem(r, 422, "validation_error")["errors"][0]["type"] == "unsafe_text"
    assert _write(api, order["id"], buyer, "x" * 2000)["body"] == "x" * 2000


def test_r4_7_only_the_two_parties_write_and_others_see_nothing(api: Api) -> None:
    buyer, listing, order = paid_order(api)
    _write(api, order["id"], buyer, "Hello")
    admin = api.account("admin", "Ada")
    stranger, other_seller = api.buyer("Eve"), api.account("seller", "Mallory")
    path = f"/v1/orders/{order['id']}/messages"
    with writes_nothing(api):
        assert_problem(api.post(path, admin, {"body": "I am the platform"}), 403, "forbidden_role")
        for outsider in (stranger, other_seller):
            assert_problem(api.post(path, outsider, {"body": "hi"}), 404, "order_not_found")
            assert_problem(api.get(path, outsider, expect=None), 404, "order_not_found")
    assert [m["body"] for m in _read(api, order["id"], listing.seller)["messages"]] == ["Hello"]
