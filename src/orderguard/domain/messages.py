"""Messages on an order (R4.7): the buyer and the store's seller write to each other.

- Who: the order's buyer and the seller who owns its store may write; an administrator reads
  every conversation but does not take part in it (403 `forbidden_role`); anyone else is told
  the order does not exist (404), as everywhere.
- What: text of at most `MAX_MESSAGE_CHARS` characters as sent, with something in it other than
  white space; it is stored without its leading and trailing white space. Nothing but white
  space is 422 `message_empty`, more characters 422 `message_too_long`. (The limit counts the
  text as sent rather than trimmed so that it is exactly the published schema's `maxLength`:
  what the schema calls too long is refused, and nothing it allows is.) It may span lines;
  control characters and bidirectional overrides are refused at the edge like all text
  (`unsafe_text`).
- When: at any time in the order's life; a conversation is a record, so messages are never
  edited or deleted.
- Who is told: the other party, with the start of the message and where to answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from orderguard.domain.decision import Notification
from orderguard.domain.machine import Actor, Refusal, Refused

MAX_MESSAGE_CHARS = 2000
PREVIEW_CHARS = 140
PARTIES = (Actor.BUYER, Actor.SELLER)


@dataclass(frozen=True, slots=True)
class Message:
    id: int  # in the order they were written, within an order
    order_id: str
    author_id: str
    author_role: str  # "buyer" | "seller"
    body: str
    created_at: datetime


def check_author(role: Actor) -> None:
    if role not in PARTIES:
        raise Refused(
            Refusal("forbidden_role", "only the order's buyer and its store's seller write messages", 403)
        )


def message_body(text: str) -> str:
    """The body as stored, trimmed; refused when too long or when nothing but white space (R4.7)."""
    if len(text) > MAX_MESSAGE_CHARS:
        raise Refused(
            Refusal(
                "message_too_long",
                f"a message holds at most {MAX_MESSAGE_CHARS} characters; this one has {len(text)}",
                422,
            )
        )
    body = text.strip()
    if not body:
        raise Refused(Refusal("message_empty", "a message needs some text", 422))
    return body


def notice(
    order_id: str,
    author_role: Actor,
    body: str,
    answer_in: str = "the order's messages",
    kind: str = "message",
) -> Notification:
    """What the other party is told: who wrote, the start of it, and where to answer."""
    recipient = "seller" if author_role is Actor.BUYER else "buyer"
    preview = body if len(body) <= PREVIEW_CHARS else body[: PREVIEW_CHARS - 1].rstrip() + "…"
    preview = " ".join(preview.split())  # one line in a list of notifications
    return Notification(
        recipient,
        kind,
        f"Order {order_id}: the {author_role} wrote: \u201c{preview}\u201d. Answer in {answer_in}.",
    )
