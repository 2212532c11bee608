"""Demo data for a first look: one reseller (and a portal user of it), one staff member, a few orders.
Safe to run again."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import random
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .accounts.service import Actor, ActorType, Role, create_account, create_staff
from .accounts.users import add_user, user_by_email
from .files.service import keep
from .files.storage import Storage
from .models import (
    Account,
    EvidenceFile,
    HistoryEntry,
    Message,
    Order,
    OrderProduct,
    Staff,
    Ticket,
    TicketProduct,
    utcnow,
)
from .orders.service import create_order

# Fixed keys, so that the printed credentials keep working across restarts of the demo.
DEMO_RESELLER_KEY = "cdk_demo_reseller_key_do_not_use_in_production"
DEMO_STAFF_KEY = "cds_demo_staff_key_do_not_use_in_production"
DEMO_STAFF_EMAIL = "agent@claimdesk.example"
DEMO_STAFF_PASSWORD = "demo-password"
DEMO_ACCOUNT = "Demo Reseller"
DEMO_USER_EMAIL = "buyer@reseller.example"
DEMO_USER_PASSWORD = "demo-portal-password"

DEMO_ORDERS = [
    {
        "id": "demo-order-1001",
        "reference": "Banner 510 for customer X",
        "customer_email": "end.customer@example.org",
        "products": [{"id": 17, "code": "banner-510", "amount": 3}, {"id": 18, "code": "flyer-a5", "amount": 500}],
    },
    {
        "id": "demo-order-1002",
        "reference": "Posters for the spring fair",
        "products": [{"id": "poster-a2", "code": "poster-a2", "amount": 40}],
    },
    {
        "id": "demo-order-1003",
        "reference": "Business cards, 3 designs",
        # Three lines with items to claim, for trying the portal's report form (and its customer e-mail rule).
        "customer_email": "office@customer.example",
        "products": [
            {"id": 1, "code": "cards-design-a", "amount": 250},
            {"id": 2, "code": "cards-design-b", "amount": 250},
            {"id": 3, "code": "cards-design-c", "amount": 250},
        ],
    },
]


@dataclass(frozen=True)
class DemoCredentials:
    account_id: int
    reseller_key: str
    staff_email: str
    staff_key: str
    staff_password: str
    user_email: str = DEMO_USER_EMAIL
    user_password: str = DEMO_USER_PASSWORD


def seed(session: Session) -> DemoCredentials:
    account = session.scalar(sa.select(Account).where(Account.name == DEMO_ACCOUNT))
    if account is None:
        account, _ = create_account(session, DEMO_ACCOUNT, api_key=DEMO_RESELLER_KEY)
    if session.scalar(sa.select(Staff.id).where(Staff.email == DEMO_STAFF_EMAIL)) is None:
        create_staff(
            session,
            DEMO_STAFF_EMAIL,
            role=Role.ADMIN,
            name="Demo Agent",
            api_key=DEMO_STAFF_KEY,
            password=DEMO_STAFF_PASSWORD,
        )
    if user_by_email(session, DEMO_USER_EMAIL) is None:
        add_user(session, account.id, DEMO_USER_EMAIL, name="Demo Buyer", password=DEMO_USER_PASSWORD)
    actor = Actor(ActorType.RESELLER, account.id, account.name)
    for order in DEMO_ORDERS:
        exists = session.scalar(
            sa.select(Order.id).where(Order.account_id == account.id, Order.external_id == order["id"])
        )
        if exists is None:
            create_order(session, actor, order, allow_private_urls=False)
    return DemoCredentials(account.id, DEMO_RESELLER_KEY, DEMO_STAFF_EMAIL, DEMO_STAFF_KEY, DEMO_STAFF_PASSWORD)


# --- the console's demo: weeks of tickets in every status --------------------------------------------
# Kept apart from ``seed`` (which other areas extend). Rows are written directly with times in the past, as
# they would have been over the weeks (the lifecycle only ever writes "now"); the search index follows by
# its triggers. No events are recorded for them: they never reached a webhook.

CONSOLE_ACCOUNTS = ("Print Partner Nord", "Werbetechnik Süd")
CONSOLE_STAFF = (("lea@claimdesk.example", "Lea Brandt"), ("omar@claimdesk.example", "Omar Haddad"))
CONSOLE_PRODUCTS = ("banner-510", "flyer-a5", "poster-a2", "rollup-850", "sticker-sq", "cards-design-a", "canvas-xl")
CONSOLE_TICKETS = 48
_STORIES = [
    ("damaged", "rework", "Two banners arrived torn at the grommets; the box was crushed on one corner."),
    ("color", "rework", "The magenta is far too strong compared with the approved proof."),
    ("print-quality", "credit", "Visible banding across the whole print run, see the photos."),
    ("wrong-quantity", "credit", "We ordered 500 flyers and received 400."),
    ("delayed", "other", "The posters arrived two days after the fair had ended."),
    ("cutting-milling-inadequate", "rework", "The cut is 3 mm off on every card; the margin is uneven."),
    ("dirty", "rework", "Ink smudges on the back of several stickers."),
    ("not-received", "credit", "The tracking says delivered, but nothing arrived at our warehouse."),
]
_REPLIES = [
    "Thank you, we are looking into it with the print shop.",
    "Could you send a photo of the label on the box?",
    "We will print the affected items again and ship them express.",
]
_NOTES = [
    "Checked with the warehouse: the batch had a calibration problem.",
    "Courier damage likely; claim with carrier.",
]


def demo_image(shade: int) -> bytes:
    """A small real PNG (a banner with a tear), so that thumbnails show in the demo."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (480, 320), (240, 244, 250))
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 60, 440, 260), fill=(31, 79, 209 - shade), outline=(23, 32, 51), width=4)
    draw.line((300, 60, 340, 160, 310, 260), fill=(240, 244, 250), width=10)
    draw.text((60, 80), "BANNER 510", fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def seed_console(session: Session, storage: Storage, *, thumbnail_px: int = 320) -> int:
    """Weeks of tickets for the console and its dashboard; returns how many were added (0 when present)."""
    if session.scalar(sa.select(Account.id).where(Account.name == CONSOLE_ACCOUNTS[0])) is not None:
        return 0
    rng = random.Random(11)  # noqa: S311 (a fixed demo spread, nothing secret)
    now = utcnow().replace(microsecond=0)
    staff = []
    for email, name in CONSOLE_STAFF:
        member = session.scalar(sa.select(Staff).where(Staff.email == email))
        if member is None:
            member, _, _ = create_staff(session, email, name=name)
        staff.append(member)
    lead = session.scalar(sa.select(Staff).where(Staff.email == DEMO_STAFF_EMAIL))
    if lead is not None:
        staff.append(lead)
    accounts = [create_account(session, name)[0] for name in CONSOLE_ACCOUNTS]
    demo = session.scalar(sa.select(Account).where(Account.name == DEMO_ACCOUNT))
    if demo is not None:
        accounts.append(demo)
    stored = []
    for shade in (0, 60, 120):
        body = demo_image(shade)
        content = keep(
            storage,
            io.BytesIO(body),
            size=len(body),
            sha256=hashlib.sha256(body).hexdigest(),
            thumbnail_px=thumbnail_px,
        )
        stored.append(content)
    failed_once = False
    for n in range(CONSOLE_TICKETS):
        account = accounts[n % len(accounts)]
        age = dt.timedelta(days=56 * (1 - n / CONSOLE_TICKETS) ** 1.3, hours=rng.uniform(0, 20))
        created = now - age - dt.timedelta(minutes=5)
        order = Order(
            account_id=account.id,
            external_id=f"PO-{2400 + n}",
            reference=f"Job {2400 + n}",
            callback_urls=[],
            created_at=created - dt.timedelta(days=rng.uniform(2, 6)),
        )
        session.add(order)
        session.flush()
        lines = []
        for position in range(rng.choice((1, 1, 2))):
            line = OrderProduct(
                order_id=order.id,
                position=position,
                key=str(position + 1),
                ref_is_int=True,
                code=rng.choice(CONSOLE_PRODUCTS),
                amount=rng.choice((3, 10, 40, 250, 500)),
            )
            session.add(line)
            lines.append(line)
        session.flush()
        reason, solution, story = _STORIES[n % len(_STORIES)]
        days = age.days
        if days > 21:
            status = rng.choice(("solved", "solved", "solved", "pending"))
        elif days > 7:
            status = rng.choice(("solved", "holding", "pending", "pending", "open"))
        else:
            status = rng.choice(("open", "open", "pending", "holding", "solved"))
        outcome = rng.choice(("rework", "credit", "credit", "other", "rejected")) if status == "solved" else None
        step = [created + dt.timedelta(hours=h) for h in sorted(rng.uniform(1, 30) for _ in range(4))]
        step = [min(t, now - dt.timedelta(minutes=1)) for t in step]
        agent = rng.choice(staff)
        ticket = Ticket(
            account_id=account.id,
            order_id=order.id,
            external_id=f"RT-{9100 + n}",
            description=story,
            reason=reason,
            suggested_solution=solution,
            contact_email="service@reseller.example",
            status=status,
            body_hash=f"{n:064x}",
            event_seq=0,
            version=1,
            assignee_id=agent.id if status != "open" else None,
            waiting_since=created if status in ("open", "pending") else None,
            updated_at=created,
            created_at=created,
        )
        session.add(ticket)
        session.flush()
        claims = []
        for position, line in enumerate(lines):
            claim = TicketProduct(
                ticket_id=ticket.id, order_product_id=line.id, position=position, amount=max(1, line.amount // 5)
            )
            session.add(claim)
            claims.append(claim)
        session.flush()
        for claim in claims:
            if n % 3 == 0 and not failed_once:
                failed_once = True
                session.add(
                    EvidenceFile(
                        ticket_id=ticket.id,
                        ticket_product_id=claim.id,
                        uri="https://photos.reseller.example/missing.jpg",
                        state="failed",
                        error="The server answered 404 Not Found.",
                        created_at=created,
                    )
                )
            content = stored[(n + claim.position) % len(stored)]
            session.add(
                EvidenceFile(
                    ticket_id=ticket.id,
                    ticket_product_id=claim.id,
                    position=1,
                    uri=f"https://photos.reseller.example/{ticket.external_id}-{claim.position}.png",
                    state="stored",
                    content_type=content.content_type,
                    size=content.size,
                    sha256=content.sha256,
                    storage_key=content.storage_key,
                    thumbnail_key=content.thumbnail_key,
                    created_at=created,
                )
            )
        reseller = Actor(ActorType.RESELLER, account.id, account.name)
        history: list[tuple[str, str, dict[str, Any], Actor, dt.datetime]] = [
            ("created", "open", {}, reseller, created)
        ]
        messages: list[tuple[str, bool, Actor, dt.datetime]] = []
        agent_actor = Actor(ActorType.STAFF, agent.id, agent.name or agent.email)
        if status != "open":
            history.append(
                ("assigned", "open", {"assignee": {"id": agent.id, "name": agent.name}}, agent_actor, step[0])
            )
            history.append(("status_changed", "pending", {"from": "open"}, agent_actor, step[0]))
            messages.append((_REPLIES[n % 2], False, agent_actor, step[0]))
            if n % 2 == 0:
                messages.append((_NOTES[n % len(_NOTES)], True, agent_actor, step[1]))
        if status == "holding" or (status == "solved" and n % 2 == 1):
            history.append(("status_changed", "holding", {"from": "pending"}, agent_actor, step[1]))
            messages.append((_REPLIES[1], False, agent_actor, step[1]))
            if status == "solved":
                messages.append(("Here are the photos you asked for.", False, reseller, step[2]))
                history.append(("status_changed", "pending", {"from": "holding"}, reseller, step[2]))
        if status == "solved":
            granted = {"rework": None, "credit": 1, "other": None, "rejected": 0}[outcome or "other"]
            resolution: dict[str, Any] = {"outcome": outcome, "note": "Decided after checking the photos."}
            ticket.resolution = resolution
            ticket.outcome = outcome
            for claim in claims:
                claim.granted = claim.amount if outcome == "rework" else granted
            history.append(
                ("status_changed", "solved", {"from": "pending", "resolution": resolution}, agent_actor, step[3])
            )
            messages.append((_REPLIES[2], False, agent_actor, step[3]))
        for text, internal, by, at in messages:
            session.add(
                Message(
                    ticket_id=ticket.id,
                    body=text,
                    internal=internal,
                    by_type=by.type.value,
                    by_id=by.id,
                    by_name=by.name,
                    created_at=at,
                )
            )
        for action, after, details, by, at in history:
            session.add(
                HistoryEntry(
                    ticket_id=ticket.id,
                    action=action,
                    status=after,
                    details=details,
                    by_type=by.type.value,
                    by_id=by.id,
                    by_name=by.name,
                    at=at,
                )
            )
        ticket.version = len(history) + len(messages)
        ticket.updated_at = max([created, *(m[3] for m in messages), *(h[4] for h in history)])
        # Set after the insert: a None given to the constructor would take the column's default (now).
        ticket.waiting_since = max(h[4] for h in history) if status in ("open", "pending") else None
    session.flush()
    return CONSOLE_TICKETS
