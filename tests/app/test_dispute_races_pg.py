"""Disputes decided by everyone at once, with threads on real PostgreSQL (issue #10, item 11).

Both parties accept each other's proposals, escalate, confirm a return and upload evidence and
messages while the scheduler fires the dispute's deadlines (the seller's 5 days to answer, the 7
days of negotiation, the 5 days of silence after a return is delivered) and while a second
dispute is opened on the same lines. Every dispute command locks the order first and then the
dispute, and the scheduler skips an order a command holds, so in each round exactly one
decision wins; the others are refused with a 409 or find their deadline stale. A dispute refunds
at most once (its refund id is derived from it), every upload that was answered is recorded and
none that was refused is, and the ledger reconciles.

Each race runs a dozen rounds on fresh orders; a thread that hangs fails the test (no deadlock).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from orderguard.app import cart, disputes, payments, shipping
from orderguard.app.context import Context, Principal
from orderguard.app.deadlines import fire_due
from orderguard.app.shipping import ScanReport
from orderguard.bootstrap import build_context
from orderguard.domain.disputes import Dispute, Proposal
from orderguard.domain.machine import Refused
from orderguard.domain.orders import Address, Order
from orderguard.domain.shipping import Place
from orderguard.providers.clock import FixedClock
from orderguard.settings import Settings
from orderguard.store import tables as t
from orderguard.store.db import reading
from orderguard.store.ledger_repo import check
from tests.app.test_races_pg import JOIN_TIMEOUT, _race
from tests.dispute_support import JPEG, PNG
from tests.support import s10, seller_offer_and_buyer

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.parametrize("db_url", ["postgresql"], indirect=True),
]

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
HOUR, DAY, SECOND = timedelta(hours=1), timedelta(days=1), timedelta(seconds=1)
LATE = timedelta(minutes=1)  # the parties act this long before a deadline; the scheduler fires it after
ROUNDS = 12
ADDRESS = Address(name="Ann Buyer", line1="1 Main St", city="Warsaw", postal_code="00-001", country="PL")
WARSAW = Place("PL", "Warsaw", "00-001")
ESCALATIONS = {"buyer_escalated", "seller_escalated", "negotiation_ended"}
ACCEPTANCES = {
    "buyer_accepted_refund",
    "seller_accepted_refund",
    "buyer_accepted_return",
    "seller_accepted_return",
}


def _context(url: str, files: Path) -> Context:
    settings = Settings(database_url=url, sandbox=False, files_dir=files)
    return build_context(settings, clock=FixedClock(T0), migrate=False)


@dataclass
class World:
    """One store's offer and one buyer; the parties' context and the scheduler's, on their own clocks."""

    parties: Context
    scheduler: Context
    seller: Principal
    buyer: Principal
    offer_id: str
    serial: int = 0
    parcels: dict[str, str] = field(default_factory=dict)  # order id -> its parcel's tracking code

    def at(self, parties: datetime, scheduler: datetime | None = None) -> None:
        for ctx, when in ((self.parties, parties), (self.scheduler, scheduler or parties)):
            assert isinstance(ctx.clock, FixedClock)
            ctx.clock.set(when)

    def code(self) -> str:
        self.serial += 1
        return s10(f"{71_000_000 + self.serial}")

    def shipped_order(self) -> Order:
        """Two items at 10.00 (shipping 2.00), paid and shipped at T0 in one parcel."""
        self.at(T0)
        cart.add_item(self.parties, self.buyer, self.offer_id, 2, None)
        (order,) = cart.check_out(self.parties, self.buyer, ADDRESS)
        payments.pay(self.parties, self.buyer, order.id, "card")
        self.parcels[order.id] = self.code()
        shipping.ship(self.parties, self.seller, order.id, "postal", self.parcels[order.id], None)
        return order

    def open(
        self,
        order: Order,
        wanted: str = "full_refund",
        amount: int | None = None,
        lines: dict[str, int] | None = None,  # None: every line, all of it
    ) -> Dispute:
        view = disputes.open_dispute(
            self.parties, self.buyer, order.id, "not_as_described", lines, wanted, amount, None, "It is blue."
        )
        return view.dispute

    def returning(self) -> tuple[Order, Dispute, str]:
        """A shipped order whose dispute agreed on a return, shipped back: (order, dispute, its code)."""
        order = self.shipped_order()
        dispute = self.open(order, "return_and_refund")
        self.at(T0 + HOUR)  # the seller accepts a return at the buyer's cost
        disputes.answer_proposal(self.parties, self.seller, self.proposal(dispute.id, "buyer").id, True)
        self.at(T0 + 2 * HOUR)
        code = self.code()
        disputes.ship_return(self.parties, self.buyer, dispute.id, "postal", code)
        return order, dispute, code

    def proposal(self, dispute_id: str, author: str) -> Proposal:
        view = disputes.get_dispute(self.parties, self.buyer, dispute_id)
        return next(p for p in reversed(view.proposals) if p.author_role == author and p.state == "open")


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> Iterator[World]:
    parties, scheduler = _context(db_url, tmp_path / "files"), _context(db_url, tmp_path / "files")
    seller, buyer, offer_id = seller_offer_and_buyer(parties, stock=10_000, postage=2_00)
    yield World(parties, scheduler, seller, buyer, offer_id)
    with reading(parties.engine) as conn:
        assert check(conn)[1] == []  # the ledger reconciles after every race
    parties.engine.dispose()
    scheduler.engine.dispose()


# --- what a round left behind -------------------------------------------------------------------


@dataclass
class Facts:
    dispute: dict[str, Any]
    kinds: list[str]  # the dispute's events, in order
    refunds: list[dict[str, Any]]  # the order's refunds
    proposals: dict[str, str]  # id -> state
    deadlines: dict[str, str]  # kind -> state (each kind armed once per dispute here)

    def one(self, among: set[str]) -> str:
        found = [k for k in self.kinds if k in among]
        assert len(found) == 1, (self.dispute["id"], self.kinds)
        return found[0]

    def refunded_once(self, amount: int) -> None:
        """Exactly one refund, the dispute's, for `amount`, accepted by the provider."""
        assert len(self.refunds) == 1, self.refunds
        [refund] = self.refunds
        assert refund["cause_type"] == "dispute" and refund["cause_id"] == self.dispute["id"]
        assert refund["id"] == self.dispute["refund_id"]
        assert refund["amount"] == self.dispute["refunded"] == amount
        assert refund["state"] == "processing"  # executed after the commit, exactly once
        assert self.dispute["state"] == "resolved" and self.dispute["ended_at"] is not None


def _facts(ctx: Context, dispute_id: str) -> Facts:
    with reading(ctx.engine) as conn:
        dispute = dict(conn.execute(select(t.disputes).where(t.disputes.c.id == dispute_id)).mappings().one())
        e = t.events.c
        kinds = list(
            conn.execute(select(e.kind).where(e.subject_id == dispute_id).order_by(e.id)).scalars().all()
        )
        refunds = [
            dict(r)
            for r in conn.execute(
                select(t.refunds).where(t.refunds.c.order_id == dispute["order_id"]).order_by(t.refunds.c.id)
            ).mappings()
        ]
        p = t.dispute_proposals.c
        proposals = {
            str(i): str(s) for i, s in conn.execute(select(p.id, p.state).where(p.dispute_id == dispute_id))
        }
        d = t.deadlines.c
        rows = conn.execute(select(d.kind, d.state).where(d.subject_id == dispute_id)).all()
    deadlines: dict[str, str] = {}
    for kind, state in rows:
        assert kind not in deadlines, (dispute_id, rows)
        deadlines[str(kind)] = str(state)
    return Facts(dispute, kinds, refunds, proposals, deadlines)


def _refused(outcome: Any, *codes: str) -> str:
    """The code of a thread's refusal, which must be a 409 with one of `codes`."""
    error = outcome.error
    assert isinstance(error, Refused), error
    assert error.refusal.status == 409 and error.refusal.code in codes, error.refusal
    return error.refusal.code


def _fire_until_settled(ctx: Context, dispute_id: str) -> None:
    """The scheduler's rounds until no deadline of the dispute is armed and due (it also fires
    whatever else is due: the retry of a refund the parties' path is still sending, say)."""
    d = t.deadlines.c
    stop_at = time.monotonic() + JOIN_TIMEOUT / 2
    while time.monotonic() < stop_at:
        fire_due(ctx, 50)
        with reading(ctx.engine) as conn:
            due = conn.execute(
                select(func.count()).where(
                    d.subject_id == dispute_id, d.state == "armed", d.due_at <= ctx.clock.now()
                )
            ).scalar_one()
        if not due:
            return
        time.sleep(0.001)  # a command holds the order: the next round retries
    raise AssertionError(f"a due deadline of dispute {dispute_id} stayed armed")


# --- (a) both parties accept each other's proposal ---------------------------------------------


def test_both_parties_accepting_each_others_proposal_at_once_settle_once(world: World) -> None:
    outcomes: Counter[str] = Counter()
    for round_no in range(ROUNDS):
        order = world.shipped_order()
        dispute = world.open(order)  # the buyer wants a full refund: their first proposal
        world.at(T0 + HOUR)
        if round_no % 2:  # the seller offers a return at their cost, which refunds nothing yet
            disputes.propose(world.parties, world.seller, dispute.id, "return_and_refund", None, "seller", "")
        else:
            disputes.propose(world.parties, world.seller, dispute.id, "partial_refund", 5_00, None, "half")
        buyers, sellers = world.proposal(dispute.id, "buyer"), world.proposal(dispute.id, "seller")
        world.at(T0 + 2 * HOUR)

        by_buyer, by_seller = _race(
            partial(disputes.answer_proposal, world.parties, world.buyer, sellers.id, True),
            partial(disputes.answer_proposal, world.parties, world.seller, buyers.id, True),
        )

        facts = _facts(world.parties, dispute.id)
        decided = facts.one(ACCEPTANCES)
        outcomes[decided] += 1
        winner, loser, accepted, lapsed = (
            (by_buyer, by_seller, sellers, buyers)
            if decided.startswith("buyer")
            else (by_seller, by_buyer, buyers, sellers)
        )
        assert winner.error is None
        _refused(loser, "dispute_ended", "dispute_not_negotiable", "proposal_answered")
        assert facts.proposals == {accepted.id: "accepted", lapsed.id: "lapsed"}
        assert facts.dispute["decided_by"] == "agreement" and facts.dispute["outcome"] == accepted.kind
        if accepted.kind == "return_and_refund":
            assert facts.dispute["state"] == "awaiting_return"
            assert facts.refunds == [] and facts.dispute["refund_id"] is None
        else:
            facts.refunded_once(accepted.amount)
        assert "armed" not in {facts.deadlines["seller_answer_by"], facts.deadlines["escalation"]}
    print(f"\noutcomes over {ROUNDS} rounds: {dict(outcomes)}")


# --- (b) one party escalates, the other accepts, the 7 days run out ----------------------------


def test_escalating_accepting_and_the_seven_days_at_once_escalate_at_most_once(world: World) -> None:
    """The escalation (by a party or by the 7-day deadline) and the acceptance race. Exactly one
    escalation or none: the first of the three to lock the order decides. An acceptance that
    comes after an escalation still settles the dispute, as the lifecycle allows (the parties may
    settle while the arbiter looks at the case, R7.2), so the acceptance always wins in the end:
    one refund, never two, and never an escalation after the dispute was settled."""
    outcomes: Counter[str] = Counter()
    for round_no in range(ROUNDS):
        order = world.shipped_order()
        dispute = world.open(order)
        world.at(T0 + HOUR)  # the seller answers with their own offer: only the 7 days remain
        disputes.propose(world.parties, world.seller, dispute.id, "partial_refund", 6_00, None, "")
        buyers, sellers = world.proposal(dispute.id, "buyer"), world.proposal(dispute.id, "seller")
        world.at(T0 + 7 * DAY - LATE, T0 + 7 * DAY + SECOND)
        if round_no % 2:
            escalator, acceptor, accepted = world.seller, world.buyer, sellers
        else:
            escalator, acceptor, accepted = world.buyer, world.seller, buyers

        escalated, accepts, fired = _race(
            partial(disputes.escalate, world.parties, escalator, dispute.id),
            partial(disputes.answer_proposal, world.parties, acceptor, accepted.id, True),
            partial(_fire_until_settled, world.scheduler, dispute.id),
        )

        facts = _facts(world.parties, dispute.id)
        assert fired.error is None and accepts.error is None
        facts.one(ACCEPTANCES)
        escalations = [k for k in facts.kinds if k in ESCALATIONS]
        assert len(escalations) <= 1, facts.kinds
        if escalations:  # it came first; the acceptance settled the escalated dispute
            [how] = escalations
            assert facts.kinds.index(how) < max(facts.kinds.index(k) for k in ACCEPTANCES & set(facts.kinds))
            assert facts.dispute["escalated_by"] == (
                "system" if how == "negotiation_ended" else how.split("_")[0]
            )
            outcome = f"{how}, then accepted"
        else:
            assert facts.dispute["escalated_at"] is None
            outcome = "accepted"
        assert (escalated.error is None) == (escalations in (["buyer_escalated"], ["seller_escalated"]))
        if escalated.error is not None:
            _refused(escalated, "dispute_ended", "dispute_not_negotiating")
        assert facts.deadlines["escalation"] == (
            "fired" if escalations == ["negotiation_ended"] else "cancelled"
        )
        facts.refunded_once(accepted.amount)
        outcomes[outcome] += 1
    print(f"\noutcomes over {ROUNDS} rounds: {dict(outcomes)}")


# --- (c) the seller accepts as their 5 days to answer run out -----------------------------------


def test_the_seller_accepting_as_their_five_days_run_out_refunds_once(world: World) -> None:
    outcomes: Counter[str] = Counter()
    for round_no in range(ROUNDS):
        order = world.shipped_order()
        dispute = world.open(order, *(("partial_refund", 7_00) if round_no % 2 else ("full_refund", None)))
        buyers = world.proposal(dispute.id, "buyer")
        world.at(T0 + 5 * DAY - LATE, T0 + 5 * DAY + SECOND)

        accepts, fired = _race(
            partial(disputes.answer_proposal, world.parties, world.seller, buyers.id, True),
            partial(_fire_until_settled, world.scheduler, dispute.id),
        )

        facts = _facts(world.parties, dispute.id)
        assert fired.error is None
        decided = facts.one({"seller_accepted_refund", "seller_answer_missed"})
        outcomes[decided] += 1
        if decided == "seller_accepted_refund":
            assert accepts.error is None
            assert facts.dispute["decided_by"] == "agreement"
            assert facts.deadlines["seller_answer_by"] == "cancelled"
        else:
            _refused(accepts, "dispute_ended")
            assert facts.dispute["decided_by"] == "seller_silence"
            assert facts.deadlines["seller_answer_by"] == "fired"
        assert facts.proposals == {buyers.id: "accepted"}
        assert facts.deadlines["escalation"] == "cancelled"
        facts.refunded_once(buyers.amount)
    print(f"\noutcomes over {ROUNDS} rounds: {dict(outcomes)}")


# --- (d) both parties upload while a deadline fires and the seller accepts ----------------------


def _post_all(ctx: Context, who: Principal, dispute_id: str, texts: list[str]) -> list[Any]:
    """Each message posted in turn: the message written, or the refusal (the dispute had ended)."""
    out: list[Any] = []
    for text in texts:
        try:
            out.append(disputes.post_message(ctx, who, dispute_id, text))
        except Refused as e:
            out.append(e)
    return out


def _upload_all(ctx: Context, who: Principal, dispute_id: str, files: list[bytes]) -> list[Any]:
    out: list[Any] = []
    for i, data in enumerate(files):
        try:
            out.append(disputes.add_evidence(ctx, who, dispute_id, data, None, f"photo-{i}"))
        except Refused as e:
            out.append(e)
    return out


def test_uploads_by_both_parties_while_a_deadline_fires_and_the_seller_accepts_lose_nothing(
    world: World,
) -> None:
    """Odd rounds: the scheduler comes two days late, so the 5-day and the 7-day deadlines are due
    in the same batch (silence decides first; the escalation is then stale)."""
    outcomes: Counter[str] = Counter()
    for round_no in range(ROUNDS):
        order = world.shipped_order()
        dispute = world.open(order)
        buyers = world.proposal(dispute.id, "buyer")
        scheduler_at = T0 + (7 if round_no % 2 else 5) * DAY + SECOND
        world.at(T0 + 5 * DAY - LATE, scheduler_at)
        photo = JPEG[:-2] + f"round {round_no}".encode() + JPEG[-2:]  # a file of its own each round

        accepts, fired, buyer_said, seller_said, buyer_shown, seller_shown = _race(
            partial(disputes.answer_proposal, world.parties, world.seller, buyers.id, True),
            partial(_fire_until_settled, world.scheduler, dispute.id),
            partial(
                _post_all, world.parties, world.buyer, dispute.id, ["It is blue.", "Still blue.", "Any news?"]
            ),
            partial(_post_all, world.parties, world.seller, dispute.id, ["Let me see.", "Checking.", "OK."]),
            partial(_upload_all, world.parties, world.buyer, dispute.id, [photo, JPEG]),
            partial(_upload_all, world.parties, world.seller, dispute.id, [PNG]),
        )

        facts = _facts(world.parties, dispute.id)
        assert fired.error is None
        decided = facts.one({"seller_accepted_refund", "seller_answer_missed"})
        outcomes[decided] += 1
        assert (accepts.error is None) == (decided == "seller_accepted_refund")
        if accepts.error is not None:
            _refused(accepts, "dispute_ended")
        assert not ESCALATIONS & set(facts.kinds)
        assert facts.deadlines["escalation"] == "cancelled"
        facts.refunded_once(buyers.amount)

        posted = [*buyer_said.value, *seller_said.value]
        uploaded = [*buyer_shown.value, *seller_shown.value]
        for answer in posted + uploaded:
            if isinstance(answer, Refused):  # only ever because the dispute had ended
                assert answer.refusal.status == 409 and answer.refusal.code == "dispute_ended", answer.refusal
        for said in (buyer_said.value, seller_said.value):  # once refused, never written again
            refused_at = next((i for i, a in enumerate(said) if isinstance(a, Refused)), len(said))
            assert all(isinstance(a, Refused) for a in said[refused_at:])
        with reading(world.parties.engine) as conn:
            m, ev = t.messages.c, t.dispute_evidence.c
            messages = set(conn.execute(select(m.id).where(m.dispute_id == dispute.id)).scalars())
            evidence = dict(conn.execute(select(ev.id, ev.sha256).where(ev.dispute_id == dispute.id)).all())
        assert messages == {a.id for a in posted if not isinstance(a, Refused)}
        assert set(evidence) == {a.id for a in uploaded if not isinstance(a, Refused)}
        for sha256 in evidence.values():  # a record never names a file that is not there
            assert world.parties.files.open(sha256) is not None
        written = len(messages) + len(evidence)
        outcomes[f"uploads written: {'all' if written == 9 else 'none' if written == 0 else 'some'}"] += 1
    print(f"\noutcomes over {ROUNDS} rounds: {dict(outcomes)}")


# --- (e) the seller confirms the return as its 5 days of silence run out ------------------------


def test_the_seller_confirming_the_return_as_its_silence_runs_out_refunds_once(world: World) -> None:
    outcomes: Counter[str] = Counter()
    for _ in range(ROUNDS):
        _, dispute, code = world.returning()
        delivered = T0 + 3 * DAY
        world.at(delivered + HOUR)
        scan = ScanReport(code, "delivered", delivered, WARSAW)
        assert shipping.record_scans(world.parties, "postal", [scan], source="webhook").accepted == 1
        world.at(delivered + 5 * DAY - LATE, delivered + 5 * DAY + SECOND)

        received, fired = _race(
            partial(disputes.return_received, world.parties, world.seller, dispute.id),
            partial(_fire_until_settled, world.scheduler, dispute.id),
        )

        facts = _facts(world.parties, dispute.id)
        assert fired.error is None
        decided = facts.one({"return_received", "return_refund_due"})
        outcomes[decided] += 1
        assert (received.error is None) == (decided == "return_received")
        if received.error is not None:
            _refused(received, "dispute_ended")
        assert facts.deadlines["return_refund_at"] == (
            "fired" if decided == "return_refund_due" else "cancelled"
        )
        facts.refunded_once(facts.dispute["outcome_amount"])
        assert facts.dispute["outcome_amount"] > 0
    print(f"\noutcomes over {ROUNDS} rounds: {dict(outcomes)}")


# --- (f) two disputes opened at once on the same lines -----------------------------------------


def test_two_disputes_opened_at_once_on_the_same_lines_one_wins(world: World) -> None:
    winners: Counter[str] = Counter()
    for _ in range(ROUNDS):
        order = world.shipped_order()
        world.at(T0 + HOUR)
        line_id = order.lines[0].id

        whole, one = _race(
            partial(world.open, order),  # every line, all of it
            partial(world.open, order, "partial_refund", 4_00, {line_id: 1}),  # one item of the line
        )

        assert (whole.error is None) != (one.error is None), (whole, one)
        loser = one if whole.error is None else whole
        _refused(loser, "line_already_disputed")
        winner = whole.value if whole.error is None else one.value
        winners["whole order" if whole.error is None else "one item"] += 1
        with reading(world.parties.engine) as conn:
            opened = conn.execute(select(t.disputes.c.id).where(t.disputes.c.order_id == order.id)).all()
            lines = conn.execute(
                select(t.disputed_lines.c.line_id, t.disputed_lines.c.dispute_id).where(
                    t.disputed_lines.c.line_id == line_id
                )
            ).all()
            proposals = conn.execute(
                select(func.count()).where(t.dispute_proposals.c.order_id == order.id)
            ).scalar_one()
            e = t.events.c
            order_events = list(
                conn.execute(
                    select(e.kind).where(e.subject_id == order.id, e.kind == "dispute_opened")
                ).scalars()
            )
            state = conn.execute(select(t.orders.c.state).where(t.orders.c.id == order.id)).scalar_one()
        assert [r.id for r in opened] == [winner.id]
        assert [tuple(r) for r in lines] == [(line_id, winner.id)]
        assert proposals == 1 and order_events == ["dispute_opened"] and state == "disputed"
    print(f"\nwinners over {ROUNDS} rounds: {dict(winners)}")


# --- (g) two carrier deliveries, each with one order's parcel and the other's return --------------


def test_two_carrier_deliveries_crossing_parcels_and_returns_of_two_orders_both_apply(world: World) -> None:
    """A carrier's webhook batch may carry scans of outbound parcels and of dispute returns. Two
    batches at once, the first with order 1's parcel and order 2's return, the second the other
    way round, lock the same two orders: both must be applied, with no deadlock between them."""
    for _ in range(ROUNDS):
        first, first_dispute, first_return = world.returning()
        second, second_dispute, second_return = world.returning()
        world.at(T0 + DAY)
        seen = T0 + DAY - HOUR
        one_way = [world.parcels[first.id], second_return]
        other_way = [world.parcels[second.id], first_return]

        one, other = _race(
            *(
                partial(
                    shipping.record_scans,
                    world.parties,
                    "postal",
                    [ScanReport(code, "in_transit", seen, WARSAW) for code in codes],
                    "webhook",
                )
                for codes in (one_way, other_way)
            )
        )

        assert one.error is None and other.error is None, (one.error, other.error)
        assert one.value.accepted == other.value.accepted == 2
        with reading(world.parties.engine) as conn:
            returns = conn.execute(
                select(t.return_scans.c.dispute_id, func.count())
                .where(t.return_scans.c.dispute_id.in_([first_dispute.id, second_dispute.id]))
                .group_by(t.return_scans.c.dispute_id)
            ).all()
            s = t.shipments.c
            parcels = conn.execute(
                select(func.count())
                .select_from(t.scans.join(t.shipments, t.scans.c.shipment_id == s.id))
                .where(s.order_id.in_([first.id, second.id]))
            ).scalar_one()
        assert dict(returns) == {first_dispute.id: 1, second_dispute.id: 1}
        assert parcels == 2


# --- (h) two returns shipped at once under one tracking code -----------------------------------


def test_two_returns_shipped_at_once_under_one_code_one_wins(world: World) -> None:
    """The buyer gives the same code for the returns of two disputes (two orders of one store) at
    once: the code is claimed once, and the second return finds it another return's (409)."""
    winners: Counter[int] = Counter()
    for _ in range(ROUNDS):
        awaiting = []
        for _order in range(2):
            order = world.shipped_order()
            dispute = world.open(order, "return_and_refund")
            world.at(T0 + HOUR)
            disputes.answer_proposal(
                world.parties, world.seller, world.proposal(dispute.id, "buyer").id, True
            )
            awaiting.append(dispute.id)
        world.at(T0 + 2 * HOUR)
        code = world.code()

        outcomes = _race(
            *(partial(disputes.ship_return, world.parties, world.buyer, d, "postal", code) for d in awaiting)
        )

        [winner] = [i for i, o in enumerate(outcomes) if o.error is None]
        _refused(outcomes[1 - winner], "tracking_code_in_use")
        winners[winner] += 1
        with reading(world.parties.engine) as conn:
            ds = t.disputes.c
            holders = conn.execute(
                select(ds.id).where(ds.return_carrier == "postal", ds.return_tracking_code == code)
            ).all()
        assert [r.id for r in holders] == [awaiting[winner]]
    print(f"\nwinners over {ROUNDS} rounds: {dict(winners)}")
