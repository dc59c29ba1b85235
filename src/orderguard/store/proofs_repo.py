"""Proof-request rows, complaint rows, and the stores' response records shown with complaints."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, and_, bindparam, or_, select, update

from orderguard.domain import complaints as rules
from orderguard.domain.complaints import Complaint, SellerRecord
from orderguard.domain.proof_requests import ProofRequest
from orderguard.store import tables as t
from orderguard.store.driver import Statement, in_list

_FIELDS = tuple(f.name for f in fields(ProofRequest))
_MUTABLE = ("state", "file_sha256", "file_type", "file_size", "uploaded_at", "missed_at")
_p = t.proof_requests.c
_insert = Statement(t.proof_requests.insert())
_update = Statement(
    update(t.proof_requests)
    .where(_p.id == bindparam("b_id"))
    .values({c: bindparam(f"b_{c}") for c in _MUTABLE})
)


def _by_id(array: bool) -> Select[Any]:
    return select(*(_p[f] for f in _FIELDS)).where(in_list(_p.id, "b_ids", array=array)).order_by(_p.id)


_select = Statement.per_dialect(_by_id)
_select_lock = Statement.per_dialect(lambda array: _by_id(array).with_for_update())
_select_skip = Statement.per_dialect(lambda array: _by_id(array).with_for_update(skip_locked=True))


def insert_proof_requests(conn: Connection, new: Sequence[ProofRequest]) -> None:
    if new:
        _insert.run_many(conn, [{f: getattr(p, f) for f in _FIELDS} for p in new])


def update_proof_requests(conn: Connection, changed: Sequence[ProofRequest]) -> None:
    if changed:
        _update.run_many(
            conn, [{"b_id": p.id, **{f"b_{c}": getattr(p, c) for c in _MUTABLE}} for p in changed]
        )


def load_proof_requests(
    conn: Connection, ids: Iterable[str], *, lock: bool = False, skip_locked: bool = False
) -> dict[str, ProofRequest]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    query = _select_skip if skip_locked else _select_lock if lock else _select
    return {row[0]: ProofRequest(*row) for row in query.rows(conn, {"b_ids": wanted})}


def load_proof_request(conn: Connection, proof_id: str, *, lock: bool = False) -> ProofRequest | None:
    return load_proof_requests(conn, [proof_id], lock=lock).get(proof_id)


def proof_requests_of(conn: Connection, order_id: str) -> list[ProofRequest]:
    """The order's proof requests, oldest first."""
    rows = conn.execute(
        select(*(_p[f] for f in _FIELDS)).where(_p.order_id == order_id).order_by(_p.created_at, _p.id)
    )
    return [ProofRequest(*row) for row in rows]


_COMPLAINT_FIELDS = tuple(f.name for f in fields(Complaint))
_c = t.complaints.c
_insert_complaint = Statement(t.complaints.insert())


def insert_complaints(conn: Connection, new: Sequence[Complaint]) -> None:
    if new:
        _insert_complaint.run_many(conn, [{f: getattr(c, f) for f in _COMPLAINT_FIELDS} for c in new])


def update_complaints(conn: Connection, changed: Sequence[Complaint]) -> None:
    if changed:
        raise ValueError("complaints do not change yet")


def complaints_page(conn: Connection, after: tuple[datetime, str] | None, limit: int) -> list[Complaint]:
    """Up to `limit` complaints, newest first, after the (created_at, id) `after`."""
    query = select(*(_c[f] for f in _COMPLAINT_FIELDS))
    if after is not None:
        at, last_id = after
        query = query.where(or_(_c.created_at < at, and_(_c.created_at == at, _c.id < last_id)))
    rows = conn.execute(query.order_by(_c.created_at.desc(), _c.id.desc()).limit(limit))
    return [Complaint(*row) for row in rows]


_ENDINGS = sorted(rules.SELLER_ANSWERS | {rules.SILENCE, "withdrawn", "overtaken"})


def seller_records(conn: Connection, store_ids: Iterable[str]) -> dict[str, SellerRecord]:
    """Each store's response record (domain/complaints.py), from its requests and how they ended."""
    stores = sorted(set(store_ids))
    if not stores:
        return {}
    cr, e = t.cancellation_requests.c, t.events.c
    ended = (
        select(cr.store_id, cr.state, cr.created_at, e.kind, e.occurred_at)
        .select_from(
            t.cancellation_requests.outerjoin(
                t.events,
                and_(
                    e.order_id == cr.order_id,  # the events' index: one order's events at a time
                    e.subject_id == cr.id,
                    e.subject_type == "cancellation_request",
                    e.kind.in_(_ENDINGS),
                ),
            )
        )
        .where(cr.store_id.in_(stores))
    )
    requests: dict[str, list[tuple[datetime, datetime | None, str]]] = defaultdict(list)
    for store_id, state, created_at, kind, occurred_at in conn.execute(ended):
        requests[store_id].append((created_at, occurred_at, rules.cancellation_outcome(state, kind)))
    proofs: dict[str, list[tuple[datetime, datetime | None, str]]] = defaultdict(list)
    rows = conn.execute(
        select(_p.store_id, _p.state, _p.created_at, _p.uploaded_at).where(_p.store_id.in_(stores))
    )
    for store_id, state, created_at, uploaded_at in rows:
        proofs[store_id].append((created_at, uploaded_at, rules.proof_outcome(state)))
    return {
        s: SellerRecord(s, rules.timing(requests.get(s, [])), rules.timing(proofs.get(s, []))) for s in stores
    }
