"""Subscriptions that notify: the outbox (sub_outbox, written in each change's transaction),
the server's state of each Subscription (sub_state: owner, channel secrets, status, event
counter, lease) and its numbered events (sub_events).

Revision ID: 0004_subscriptions
Revises: 0003_sign_in
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_subscriptions"
down_revision = "0003_sign_in"
branch_labels = None
depends_on = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "sub_outbox" not in existing:
        op.create_table(
            "sub_outbox",
            sa.Column("opk", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("hpk", sa.Integer(), nullable=False),
            sa.Column("rtype", sa.String(length=64), nullable=False),
            sa.Column("created", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("opk"),
        )
    if "sub_state" not in existing:
        op.create_table(
            "sub_state",
            sa.Column("sub_id", sa.String(length=64), nullable=False),
            sa.Column("kind", sa.String(length=8), nullable=False),
            sa.Column("rtype", sa.String(length=64), nullable=False),
            sa.Column("config", sa.Text(), nullable=False),
            sa.Column("owner", sa.Text(), nullable=False),
            sa.Column("status", sa.String(length=16), nullable=False),
            sa.Column("reason", sa.Text(), nullable=True),
            sa.Column("events", sa.Integer(), nullable=False),
            sa.Column("due", sa.Float(), nullable=False),
            sa.Column("lease_until", sa.Float(), nullable=False),
            sa.Column("lease_owner", sa.String(length=64), nullable=True),
            sa.Column("last_sent", sa.Float(), nullable=False),
            sa.Column("created", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("sub_id"),
        )
        op.create_index("ix_sub_state_due", "sub_state", ["status", "due"], unique=False)
    if "sub_events" not in existing:
        op.create_table(
            "sub_events",
            sa.Column("sub_id", sa.String(length=64), nullable=False),
            sa.Column("event", sa.Integer(), autoincrement=False, nullable=False),
            sa.Column("hpk", sa.Integer(), nullable=False),
            sa.Column("rtype", sa.String(length=64), nullable=False),
            sa.Column("rid", sa.String(length=64), nullable=False),
            sa.Column("version", sa.Integer(), nullable=False),
            sa.Column("method", sa.String(length=8), nullable=False),
            sa.Column("created", sa.Float(), nullable=False),
            sa.Column("status", sa.String(length=8), nullable=False),
            sa.Column("attempts", sa.Integer(), nullable=False),
            sa.Column("next_try", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("sub_id", "event"),
        )
        op.create_index("ix_sub_events_pending", "sub_events", ["sub_id", "status", "event"],
                        unique=False)


def downgrade() -> None:
    op.drop_index("ix_sub_events_pending", table_name="sub_events")
    op.drop_table("sub_events")
    op.drop_index("ix_sub_state_due", table_name="sub_state")
    op.drop_table("sub_state")
    op.drop_table("sub_outbox")
