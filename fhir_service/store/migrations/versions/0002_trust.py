"""The trust issue and its neighbours: owners (res_owner), people per version (hist_patient,
backfilled from the resources' current people), the client-assertion replay cache
(auth_jti) and the composite search index (idx_composite; rows for resources written
before it come with their next write).

Revision ID: 0002_trust
Revises: 0001_baseline
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_trust"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # (idempotent: a store made by a development build between releases may have some)
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    backfill = "hist_patient" not in existing
    if "auth_jti" not in existing:
        op.create_table('auth_jti',
        sa.Column('jti', sa.String(length=64), nullable=False),
        sa.Column('expires', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('jti')
        )
        op.create_index('ix_auth_jti_expires', 'auth_jti', ['expires'], unique=False)
    if "hist_patient" not in existing:
        op.create_table('hist_patient',
        sa.Column('hpk', sa.Integer(), nullable=False),
        sa.Column('patient_id', sa.String(length=64), nullable=False)
        )
        op.create_index('ix_hist_patient_hpk', 'hist_patient', ['hpk', 'patient_id'], unique=False)
    if "idx_composite" not in existing:
        op.create_table('idx_composite',
        sa.Column('res_pk', sa.Integer(), nullable=False),
        sa.Column('rtype', sa.String(length=64), nullable=False),
        sa.Column('param', sa.String(length=64), nullable=False),
        sa.Column('s1', sa.Text(), nullable=True),
        sa.Column('c1', sa.Text(), nullable=True),
        sa.Column('lo1', sa.Float(), nullable=True),
        sa.Column('hi1', sa.Float(), nullable=True),
        sa.Column('s2', sa.Text(), nullable=True),
        sa.Column('c2', sa.Text(), nullable=True),
        sa.Column('lo2', sa.Float(), nullable=True),
        sa.Column('hi2', sa.Float(), nullable=True),
        sa.Column('s3', sa.Text(), nullable=True),
        sa.Column('c3', sa.Text(), nullable=True),
        sa.Column('lo3', sa.Float(), nullable=True),
        sa.Column('hi3', sa.Float(), nullable=True)
        )
        op.create_index('ix_composite_lookup', 'idx_composite', ['rtype', 'param', 'c1'], unique=False)
        op.create_index('ix_composite_res', 'idx_composite', ['res_pk'], unique=False)
    if "res_owner" not in existing:
        op.create_table('res_owner',
        sa.Column('res_pk', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('org_id', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('res_pk')
        )

    # each version of a store written before: the resource's current people, once
    if backfill:
            op.execute("INSERT INTO hist_patient (hpk, patient_id) SELECT h.hpk, rp.patient_id "
                   "FROM history h JOIN res_patient rp ON rp.res_pk = h.res_pk")


def downgrade() -> None:
    for index, table in (("ix_composite_res", "idx_composite"),
                         ("ix_composite_lookup", "idx_composite"),
                         ("ix_hist_patient_hpk", "hist_patient"),
                         ("ix_auth_jti_expires", "auth_jti")):
        op.drop_index(index, table_name=table)
    for table in ("res_owner", "idx_composite", "hist_patient", "auth_jti"):
        op.drop_table(table)
