"""Bearer tokens (issue #7): several per account, each may expire (by the clock port) or be revoked."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select

from orderguard.app import accounts
from orderguard.domain.machine import Refused
from orderguard.store import driver
from orderguard.store import tables as t
from orderguard.store.db import reading
from tests.api.helpers import assert_problem
from tests.support import Api, Who, exchanges


def _as(who: Who, token: str) -> Who:
    return Who(who.id, who.role, token)


def _works(api: Api, who: Who) -> bool:
    r = api.get("/v1/notifications", who, expect=None)
    if r.status_code == 401:
        assert_problem(r, 401, "unauthenticated")
        assert "unknown, expired or revoked" in r.json()["detail"]
        return False
    assert r.status_code == 200, r.text
    return True


def test_an_account_holds_several_tokens_and_each_works(api: Api) -> None:
    ann = api.buyer()
    more = [accounts.issue_token(api.ctx, ann.id) for _ in range(2)]
    assert all(_works(api, _as(ann, token)) for token in [ann.token, *(m.token for m in more)])
    with reading(api.ctx.engine) as conn:
        rows = conn.execute(select(t.tokens.c.digest).where(t.tokens.c.account_id == ann.id)).scalars().all()
    assert sorted(rows) == sorted(accounts.token_digest(x) for x in [ann.token, *(m.token for m in more)])
    assert not any(m.token in rows for m in more)  # digests only


def test_a_revoked_token_gets_401_and_the_account_s_other_tokens_keep_working(api: Api) -> None:
    ann = api.buyer()
    second = accounts.issue_token(api.ctx, ann.id)
    third = accounts.issue_token(api.ctx, ann.id)
    assert _works(api, ann)

    revoked = accounts.revoke_token(api.ctx, ann.token)  # by the token itself
    assert revoked.revoked_at == api.ctx.clock.now()
    assert not _works(api, ann)
    accounts.revoke_token(api.ctx, second.id)  # by its id
    assert not _works(api, _as(ann, second.token))
    assert _works(api, _as(ann, third.token))

    assert accounts.revoke_all_tokens(api.ctx, ann.id) == 1
    assert not _works(api, _as(ann, third.token))
    assert accounts.revoke_token(api.ctx, ann.token).revoked_at == revoked.revoked_at  # once is enough


def test_an_expired_token_gets_401_by_the_virtual_clock(api: Api) -> None:
    ann = api.buyer()
    day = accounts.issue_token(api.ctx, ann.id, expires_in=timedelta(days=1))
    assert day.expires_at == api.ctx.clock.now() + timedelta(days=1)
    week = accounts.create_account(api.ctx, "seller", "Sam", expires_in=timedelta(days=7))
    sam = Who(week.id, "seller", week.token)
    assert _works(api, _as(ann, day.token)) and _works(api, sam)

    api.advance(hours=23, minutes=59)
    assert _works(api, _as(ann, day.token))
    api.advance(minutes=1)
    assert not _works(api, _as(ann, day.token))
    assert _works(api, ann)  # the token without an expiry is untouched
    assert _works(api, sam)
    api.advance(days=6)
    assert not _works(api, sam)


@pytest.mark.parametrize("days", [0, -1, 3651])
def test_a_token_lives_from_one_day_to_ten_years(api: Api, days: int) -> None:
    ann = api.buyer()
    with pytest.raises(Refused) as refused:
        accounts.issue_token(api.ctx, ann.id, expires_in=timedelta(days=days))
    assert refused.value.refusal.code == "invalid_token_lifetime"


def test_unknown_accounts_and_tokens_are_refused(api: Api) -> None:
    for call in (
        lambda: accounts.issue_token(api.ctx, "acc_nobody"),
        lambda: accounts.revoke_all_tokens(api.ctx, "acc_nobody"),
        lambda: accounts.list_tokens(api.ctx, "acc_nobody"),
    ):
        with pytest.raises(Refused) as refused:
            call()
        assert refused.value.refusal.code == "unknown_account"
    for token in ("tok_nothing", "og_nothing"):
        with pytest.raises(Refused) as refused:
            accounts.revoke_token(api.ctx, token)
        assert refused.value.refusal.code == "unknown_token"


def test_authentication_is_one_query(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """One statement, whichever way it runs: a `Statement` (straight on the driver where it can) or
    SQLAlchemy's own execution."""
    ann = api.buyer()
    statements: list[str] = []
    in_statement = False
    rows = driver.Statement.rows

    def counted(self: driver.Statement, conn: Any, params: Any) -> Any:
        nonlocal in_statement
        statements.append(str(self.statement))
        in_statement = True
        try:
            return rows(self, conn, params)
        finally:
            in_statement = False

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not in_statement:
            statements.append(statement)

    monkeypatch.setattr(driver.Statement, "rows", counted)
    event.listen(api.ctx.engine, "before_cursor_execute", seen)
    try:
        assert accounts.authenticate(api.ctx, ann.token) is not None
    finally:
        event.remove(api.ctx.engine, "before_cursor_execute", seen)
    assert len(statements) == 1 and "tokens" in statements[0], statements


def test_a_token_is_looked_up_after_the_request_is_validated_and_at_every_request(api: Api) -> None:
    """Routes authenticate in the thread that runs them (api/routing.py): a request without a token
    is 401 before anything else, a malformed one with a token is 422, and a token revoked between two
    requests is refused at the second."""
    ann = api.buyer()
    assert_problem(api.get("/v1/orders", None, expect=None, limit=0), 401, "unauthenticated")
    r = api.get("/v1/orders", _as(ann, "og_not_a_token"), expect=None, limit=0)
    assert_problem(r, 422, "validation_error")
    assert _works(api, ann)
    accounts.revoke_token(api.ctx, ann.token)
    assert not _works(api, ann)


def test_a_read_is_answered_only_once_its_own_lookup_confirms_the_caller(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A GET plans its reads with the caller its token named at its last lookup, and its own lookup
    travels with those reads: on PostgreSQL an order's page is one exchange. The answer, page or
    error, is given only if that lookup finds the same live caller; a token revoked since gets 401,
    never the page, nor the 404 that another buyer's order would give the remembered caller."""
    ann, bob = api.buyer(), api.buyer("Bob")
    listing = api.listing()
    mine, theirs = api.place(ann, listing), api.place(bob, listing)
    other = accounts.issue_token(api.ctx, ann.id)
    assert api.order(mine["id"], ann)["id"] == mine["id"]  # looked up on its own, then remembered
    carried = exchanges(monkeypatch)
    assert api.order(mine["id"], ann)["id"] == mine["id"]
    if api.ctx.engine.dialect.name == "postgresql":
        assert len(carried) == 1, carried
    api.get(f"/v1/orders/{theirs['id']}", ann, expect=404)

    accounts.revoke_token(api.ctx, ann.token)
    for order in (mine, theirs):
        r = api.get(f"/v1/orders/{order['id']}", ann, expect=None)
        assert_problem(r, 401, "unauthenticated")
        assert mine["id"] not in r.text
    assert accounts.token_digest(ann.token) not in api.ctx.recent_callers
    assert api.order(mine["id"], _as(ann, other.token))["id"] == mine["id"]  # her other token works


def test_a_write_waits_for_the_caller_a_read_was_planned_with_to_be_confirmed(api: Api) -> None:
    """Within a read-only request, a writing unit first makes the request's own token lookup
    confirm the remembered caller: for a token revoked since, nothing is written."""
    ann = api.buyer()
    assert _works(api, ann)  # remembered
    accounts.revoke_token(api.ctx, ann.token)
    with pytest.raises(accounts.CallerChanged), api.ctx.units.reads_shared():
        ahead = accounts.authenticate_ahead(api.ctx, ann.token)
        assert ahead.principal is not None and ahead.principal.id == ann.id  # only to plan with
        with api.ctx.uow() as uow:
            uow.accounts.insert_account("acc_written", "buyer", "Not written", None, api.ctx.clock.now())
    with api.ctx.reading() as uow:
        assert not uow.accounts.account_exists("acc_written")
    assert not _works(api, ann)
