"""Demo data for a first look: one reseller (and a portal user of it), one staff member, a few orders.
Safe to run again."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .accounts.service import Actor, ActorType, Role, create_account, create_staff
from .accounts.users import add_user, user_by_email
from .models import Account, Order, Staff
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
