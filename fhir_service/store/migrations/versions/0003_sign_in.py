"""Practitioner sign-in (SMART App Launch): the embedded identity provider's accounts
(user_accounts), the public app clients with their redirect URIs (app_clients) and the
one-time authorization codes (auth_codes).

Revision ID: 0003_sign_in
Revises: 0002_trust
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_sign_in"
down_revision = "0002_trust"
branch_labels = None
depends_on = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "user_accounts" not in existing:
        op.create_table('user_accounts',
        sa.Column('username', sa.String(length=128), nullable=False),
        sa.Column('practitioner', sa.String(length=64), nullable=False),
        sa.Column('password_hash', sa.Text(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('locked_until', sa.Float(), nullable=False),
        sa.Column('created', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('username')
        )
    if "app_clients" not in existing:
        op.create_table('app_clients',
        sa.Column('client_id', sa.String(length=128), nullable=False),
        sa.Column('name', sa.Text(), nullable=False),
        sa.Column('redirect_uris', sa.Text(), nullable=False),
        sa.Column('scopes', sa.Text(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('client_id')
        )
    if "auth_codes" not in existing:
        op.create_table('auth_codes',
        sa.Column('code', sa.String(length=64), nullable=False),
        sa.Column('client_id', sa.String(length=128), nullable=False),
        sa.Column('redirect_uri', sa.Text(), nullable=False),
        sa.Column('code_challenge', sa.String(length=128), nullable=False),
        sa.Column('grant', sa.Text(), nullable=False),
        sa.Column('expires', sa.Float(), nullable=False),
        sa.Column('used', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('code')
        )
        op.create_index('ix_auth_codes_expires', 'auth_codes', ['expires'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_auth_codes_expires', table_name='auth_codes')
    op.drop_table('auth_codes')
    op.drop_table('app_clients')
    op.drop_table('user_accounts')
