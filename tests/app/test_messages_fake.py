"""Messages (R4.7) over the in-memory fake: what a message writes, and what a refusal does not."""

from __future__ import annotations

import pytest

from orderguard.app import messages
from orderguard.app.context import Principal
from orderguard.domain.machine import Actor, Refused
from tests.app.fakes import FakeWorld, fake_world
from tests.app.test_use_cases_fake import _placed


@pytest.fixture
def w() -> FakeWorld:
    return fake_world()


def test_a_message_is_stored_trimmed_and_tells_the_other_party(w: FakeWorld) -> None:
    buyer, seller, order = _placed(w)
    m = messages.post_message(w.ctx, seller, order.id, "  Shipping tomorrow.  ")
    assert (m.body, m.author_role, m.author_id) == ("Shipping tomorrow.", "seller", seller.id)
    [note] = [n for n in w.db.rows.notifications if n["kind"] == "message"]
    assert note["account_id"] == buyer.id and "Shipping tomorrow." in note["text"]
    page = messages.list_messages(w.ctx, Principal("adm", Actor.ADMIN), order.id, None, 10)
    assert page.messages == [m] and page.next_cursor is None


def test_refusals_write_nothing(w: FakeWorld) -> None:
    buyer, _, order = _placed(w)
    commits = w.db.commits
    for who, text, code in (
        (buyer, "   ", "message_empty"),
        (buyer, "y" * 2001, "message_too_long"),
        (Principal("adm", Actor.ADMIN), "hi", "forbidden_role"),
        (Principal("someone", Actor.BUYER), "hi", "order_not_found"),
    ):
        with pytest.raises(Refused) as e:
            messages.post_message(w.ctx, who, order.id, text)
        assert e.value.refusal.code == code
    assert w.db.commits == commits and w.db.rows.messages == []
