"""Shipments, carrier scans and tracking codes (R6.1, R6.2), and parcels sent back (R6.6).

Scans are data (carrier, code, kind, place, occurred_at), never status
flips: a shipment's state is the fold of its scans, ordered by when they
occurred, through the SHIPMENT transition table. A scan that arrives late
but happened earlier is simply folded in its place; a scan the table has
no transition for (say, "accepted" after "in_transit") is kept but changes
nothing.

The platform itself may send a parcel back (R6.6): the buyer refuses it (`refused`), or its
storage at the pickup point runs out (`storage_ended`, the STORAGE_END timer). That decision is
kept on the shipment (`sent_back_by`, `sent_back_at`) and folded with the scans at its time, so
the carrier's later scans of the way back (in transit, delivered to sender) move the parcel on
from `returning` as they would after a carrier's own `returned_to_sender`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from orderguard.domain.machine import Actor, Due, Machine, Refusal, Refused, T, Timer

SYS, BUYER = Actor.SYSTEM, Actor.BUYER
_MOVING = ("label_created", "accepted", "in_transit", "at_pickup_point")
# states in which the buyer may still refuse the parcel: before delivery, not on its way back (R6.6)
REFUSABLE = frozenset(_MOVING)
RETURNING, RETURNED, AT_PICKUP_POINT = "returning", "returned", "at_pickup_point"
# what the platform may do to send a parcel back: shipment events that are not carriers' scans
SENT_BACK_BY = ("refused", "storage_ended")

STORAGE_END = Timer(
    "storage_end",
    Due("state_since", "the parcel reached the pickup point", "shipping.pickup_storage_days"),
    BUYER,
    "collect the parcel at the pickup point (or refuse it)",
    "the parcel is sent back to the seller; once it is back the buyer is refunded its lines, less "
    "the return shipping unless the policy refunds in full",
)

SHIPMENT = Machine(
    "shipment",
    (
        T("label_created", "accepted", "accepted", SYS, "R6.2"),
        *(T(s, "in_transit", "in_transit", SYS, "R6.2") for s in _MOVING),
        *(T(s, "at_pickup_point", "at_pickup_point", SYS, "R6.2") for s in _MOVING if s != "at_pickup_point"),
        *(T(s, "delivered", "delivered", SYS, "R6.2") for s in _MOVING),
        *(T(s, "returned_to_sender", "returning", SYS, "R6.6") for s in _MOVING),
        T("at_pickup_point", "storage_ended", "returning", SYS, "R6.6", STORAGE_END),
        *(T(s, "refused", "returning", BUYER, "R6.6") for s in _MOVING),
        T("returning", "in_transit", "returning", SYS, "R6.6"),
        T("returning", "delivered_to_sender", "returned", SYS, "R6.6"),
    ),
    terminal=frozenset({"delivered", "returned"}),
)

MAX_FUTURE = timedelta(minutes=5)  # carrier clocks drift; a scan further ahead is refused

SCAN_KINDS = (
    "accepted",
    "in_transit",
    "at_pickup_point",
    "delivered",
    "returned_to_sender",
    "delivered_to_sender",
)


@dataclass(frozen=True, slots=True)
class Place:
    country: str
    city: str = ""
    postal_code: str = ""


@dataclass(frozen=True, slots=True)
class Scan:
    kind: str
    occurred_at: datetime
    place: Place

    @property
    def identity(self) -> tuple[str, datetime, str, str, str]:
        """Two reports of the same scan share this; the second is a duplicate."""
        return (self.kind, self.occurred_at, self.place.country, self.place.city, self.place.postal_code)


def fold(scans: Iterable[Scan], sent_back: tuple[str, datetime] | None = None) -> tuple[str, datetime | None]:
    """(state, time it was reached) of a shipment with these scans, in order of occurrence.

    `sent_back` is (event, time) when the platform sent the parcel back (R6.6): it is folded in
    at its time, after any scan of the same time.
    """
    steps = [(scan.occurred_at, 0, scan.kind) for scan in scans]
    if sent_back is not None:
        steps.append((sent_back[1], 1, sent_back[0]))
    state, reached = "label_created", None
    for at, _, kind in sorted(steps, key=lambda step: (step[0], step[1])):
        t = SHIPMENT.find(state, kind)
        if t is not None and t.target != state:
            state, reached = t.target, at
    return state, reached


def last_delivery(parcels: Iterable[tuple[str, datetime | None]]) -> datetime | None:
    """When the last of these (state, since) parcels was delivered, or None while any is not."""
    times = [since for state, since in parcels if state == "delivered" and since is not None]
    states = [state for state, _ in parcels]
    if not states or len(times) != len(states):
        return None
    return max(times)


# --- tracking codes -------------------------------------------------------------------------

S10 = re.compile(r"^([A-Z]{2})(\d{8})(\d)([A-Z]{2})$")
S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)

# Documented formats of the other carriers (postal carriers use S10).
CARRIER_FORMATS: dict[str, tuple[re.Pattern[str], str]] = {
    "postal": (S10, "UPU S10: two letters, eight digits, a check digit, a country code (RR123456785CN)"),
    "cainiao": (re.compile(r"^(LP|CN|YT)\d{14,16}$"), "LP, CN or YT followed by 14 to 16 digits"),
    "dhl": (re.compile(r"^\d{10}$"), "ten digits"),
    "ups": (re.compile(r"^1Z[0-9A-Z]{16}$"), "1Z followed by 16 letters or digits"),
    "sandbox": (re.compile(r"^[A-Z0-9]{8,30}$"), "8 to 30 capital letters or digits"),
}


def s10_check_digit(serial: str) -> int:
    """The UPU S10 check digit of an eight-digit serial number."""
    total = sum(int(d) * w for d, w in zip(serial, S10_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: 0, 11: 5}.get(check, check)


def check_carrier(carrier: str) -> None:
    """A carrier we know the codes of; a shipping option of an offer names one too, so that what the
    buyer chooses can be shipped (R6.1)."""
    if carrier not in CARRIER_FORMATS:
        raise Refused(
            Refusal("unknown_carrier", f"carrier must be one of {', '.join(sorted(CARRIER_FORMATS))}", 422)
        )


def check_tracking_code(carrier: str, code: str) -> str:
    """The code, normalised (upper case, no spaces), or a refusal that says what is wrong."""
    normalised = re.sub(r"\s+", "", code).upper()
    check_carrier(carrier)
    pattern, described = CARRIER_FORMATS[carrier]
    if not pattern.match(normalised):
        raise Refused(Refusal("invalid_tracking_code", f"{carrier} tracking codes are {described}", 422))
    s10 = S10.match(normalised)
    if s10 is not None:  # any carrier's S10-shaped code must carry the right check digit
        serial, check = s10.group(2), int(s10.group(3))
        if s10_check_digit(serial) != check:
            raise Refused(
                Refusal(
                    "invalid_check_digit",
                    f"{normalised} fails the S10 check digit (expected {s10_check_digit(serial)})",
                    422,
                )
            )
    return normalised


# --- who a tracking code belongs to (R6.1) ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CodeHolder:
    """The store shipping a parcel and the buyer it goes to; `return` for the buyer's return of a
    dispute (R7.6), so a return's code never moves a store's parcel, nor the reverse."""

    store_id: str
    buyer_id: str
    direction: str = "outbound"


def check_code_reuse(owner: CodeHolder, shipper: CodeHolder, carrier: str, code: str) -> None:
    """A carrier's code belongs to one parcel: the store that first shipped with it, for that buyer.

    That store may ship more orders of the same buyer under it (several orders in one parcel);
    anyone else is refused, or their shipment would move with the owner's scans (a delivered
    scan would start their protection clock).
    """
    if shipper.direction != owner.direction:  # the same parcel cannot go both ways
        mine = "a return" if owner.direction == "return" else "a parcel shipped to the buyer"
        raise Refused(
            Refusal(
                "tracking_code_in_use",
                f"{carrier} tracking code {code} is already on {mine}: a parcel going the other way "
                "needs its own code",
                409,
            )
        )
    if shipper != owner:
        raise Refused(
            Refusal(
                "tracking_code_in_use",
                f"{carrier} tracking code {code} is already on another store's or buyer's parcel",
                409,
            )
        )


def holds_code(owner: CodeHolder | None, holder: CodeHolder) -> bool:
    """Whether a shipment of `holder` holds its code legitimately, so that the code's scans move it.

    Only the owner's shipments do: even a shipment row that bypassed `check_code_reuse`
    (written before codes were owned, or by hand) is never moved by another parcel's scans.
    """
    return owner is not None and holder == owner


# --- what a shipment may take from an order ----------------------------------------------------


def check_shipment_lines(wanted: dict[str, int], ordered: dict[str, int], shipped: dict[str, int]) -> None:
    """Every line must belong to the order and fit in what remains to ship."""
    if not wanted:
        raise Refused(Refusal("no_lines", "a shipment needs at least one line", 422))
    for line_id, quantity in wanted.items():
        if line_id not in ordered:
            raise Refused(Refusal("unknown_line", f"line {line_id} is not in this order", 422))
        if quantity <= 0:
            raise Refused(Refusal("invalid_quantity", "shipped quantities must be at least 1", 422))
        remaining = ordered[line_id] - shipped.get(line_id, 0)
        if quantity > remaining:
            raise Refused(
                Refusal(
                    "quantity_exceeds_remaining",
                    f"line {line_id} has {remaining} left to ship, not {quantity}",
                    422,
                )
            )


def check_chosen_carrier(carrier: str, wanted: dict[str, int], chosen: dict[str, str]) -> None:
    """The buyer's choice binds the seller: every line of a parcel ships with the carrier of the
    shipping option the buyer chose (and paid for) at checkout, `chosen` (line id -> carrier).

    Refused with `carrier_not_chosen`, naming each line's carrier: a parcel of lines bought with
    different carriers is split, one parcel per carrier (R6.1).
    """
    other = sorted(line_id for line_id in wanted if chosen.get(line_id, carrier) != carrier)
    if not other:
        return
    by_carrier: dict[str, list[str]] = {}
    for line_id in sorted(wanted):
        by_carrier.setdefault(chosen[line_id], []).append(line_id)
    if len(by_carrier) > 1:
        split = "; ".join(f"{c}: {', '.join(ids)}" for c, ids in sorted(by_carrier.items()))
        detail = (
            f"these lines were bought with different carriers ({split}): ship each carrier's lines "
            "in a parcel of their own"
        )
    else:
        (wanted_carrier,) = by_carrier
        detail = (
            f"the buyer chose {wanted_carrier} for line {', '.join(other)}, not {carrier}: ship it "
            f"with {wanted_carrier}"
        )
    raise Refused(Refusal("carrier_not_chosen", detail, 422))


def fully_shipped(ordered: dict[str, int], shipped: dict[str, int]) -> bool:
    return all(shipped.get(line_id, 0) >= qty for line_id, qty in ordered.items())
