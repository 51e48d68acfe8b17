"""Baseline: the schema of the release before migrations (resources, history, the index tables,
references, the access rows and the registered clients), as metadata.create_all made it.

Revision ID: 0001_baseline
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('access_grants',
    sa.Column('source_pk', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.String(length=64), nullable=False),
    sa.Column('org_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('start', sa.Float(), nullable=False),
    sa.Column('end', sa.Float(), nullable=True)
    )
    op.create_index('ix_grants_lookup', 'access_grants', ['org_id', 'patient_id'], unique=False)
    op.create_index('ix_grants_patient', 'access_grants', ['patient_id'], unique=False)
    op.create_index('ix_grants_source', 'access_grants', ['source_pk'], unique=False)
    op.create_table('clients',
    sa.Column('client_id', sa.String(length=128), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('structure', sa.String(length=64), nullable=True),
    sa.Column('practitioner', sa.String(length=64), nullable=True),
    sa.Column('scopes', sa.Text(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('jwks', sa.Text(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('client_id')
    )
    op.create_table('history',
    sa.Column('hpk', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('res_pk', sa.Integer(), nullable=False),
    sa.Column('rtype', sa.String(length=64), nullable=False),
    sa.Column('rid', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Float(), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.PrimaryKeyConstraint('hpk'),
    sa.UniqueConstraint('res_pk', 'version', name='uq_history_version')
    )
    op.create_index('ix_history_type', 'history', ['rtype', 'hpk'], unique=False)
    op.create_index('ix_history_updated', 'history', ['updated'], unique=False)
    op.create_table('idx_date',
    sa.Column('res_pk', sa.Integer(), nullable=False),
    sa.Column('rtype', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=64), nullable=False),
    sa.Column('low', sa.Float(), nullable=False),
    sa.Column('high', sa.Float(), nullable=False)
    )
    op.create_index('ix_date_lookup', 'idx_date', ['rtype', 'param', 'low'], unique=False)
    op.create_index('ix_date_res', 'idx_date', ['res_pk'], unique=False)
    op.create_table('idx_number',
    sa.Column('res_pk', sa.Integer(), nullable=False),
    sa.Column('rtype', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Float(), nullable=False)
    )
    op.create_index('ix_number_lookup', 'idx_number', ['rtype', 'param', 'value'], unique=False)
    op.create_index('ix_number_res', 'idx_number', ['res_pk'], unique=False)
    op.create_table('idx_quantity',
    sa.Column('res_pk', sa.Integer(), nullable=False),
    sa.Column('rtype', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=64), nullable=False),
    sa.Column('system', sa.Text(), nullable=True),
    sa.Column('code', sa.Text(), nullable=True),
    sa.Column('value', sa.Float(), nullable=False)
    )
    op.create_index('ix_quantity_lookup', 'idx_quantity', ['rtype', 'param', 'value'], unique=False)
    op.create_index('ix_quantity_res', 'idx_quantity', ['res_pk'], unique=False)
    op.create_table('idx_reference',
    sa.Column('res_pk', sa.Integer(), nullable=False),
    sa.Column('rtype', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=64), nullable=False),
    sa.Column('ref_type', sa.String(length=64), nullable=True),
    sa.Column('ref_id', sa.String(length=64), nullable=True),
    sa.Column('ref_url', sa.Text(), nullable=True),
    sa.Column('id_system', sa.Text(), nullable=True),
    sa.Column('id_value', sa.Text(), nullable=True)
    )
    op.create_index('ix_ref_lookup', 'idx_reference', ['rtype', 'param', 'ref_id', 'res_pk'], unique=False)
    op.create_index('ix_ref_res', 'idx_reference', ['res_pk'], unique=False)
    op.create_index('ix_ref_target', 'idx_reference', ['ref_type', 'ref_id'], unique=False)
    op.create_table('idx_string',
    sa.Column('res_pk', sa.Integer(), nullable=False),
    sa.Column('rtype', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=64), nullable=False),
    sa.Column('norm', sa.Text(), nullable=False),
    sa.Column('exact', sa.Text(), nullable=False)
    )
    op.create_index('ix_string_lookup', 'idx_string', ['rtype', 'param', 'norm'], unique=False)
    op.create_index('ix_string_res', 'idx_string', ['res_pk'], unique=False)
    op.create_table('idx_token',
    sa.Column('res_pk', sa.Integer(), nullable=False),
    sa.Column('rtype', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=64), nullable=False),
    sa.Column('system', sa.Text(), nullable=True),
    sa.Column('code', sa.Text(), nullable=True),
    sa.Column('text', sa.Text(), nullable=True)
    )
    op.create_index('ix_token_lookup', 'idx_token', ['rtype', 'param', 'code', 'res_pk'], unique=False)
    op.create_index('ix_token_res', 'idx_token', ['res_pk'], unique=False)
    op.create_table('idx_uri',
    sa.Column('res_pk', sa.Integer(), nullable=False),
    sa.Column('rtype', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False)
    )
    op.create_index('ix_uri_lookup', 'idx_uri', ['rtype', 'param', 'value'], unique=False)
    op.create_index('ix_uri_res', 'idx_uri', ['res_pk'], unique=False)
    op.create_table('refs',
    sa.Column('res_pk', sa.Integer(), nullable=False),
    sa.Column('target_type', sa.String(length=64), nullable=False),
    sa.Column('target_id', sa.String(length=64), nullable=False)
    )
    op.create_index('ix_refs_res', 'refs', ['res_pk'], unique=False)
    op.create_index('ix_refs_target', 'refs', ['target_type', 'target_id'], unique=False)
    op.create_table('res_patient',
    sa.Column('res_pk', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.String(length=64), nullable=False)
    )
    op.create_index('ix_res_patient_patient', 'res_patient', ['patient_id'], unique=False)
    op.create_index('ix_res_patient_res', 'res_patient', ['res_pk', 'patient_id'], unique=False)
    op.create_table('resources',
    sa.Column('pk', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('rtype', sa.String(length=64), nullable=False),
    sa.Column('rid', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Float(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.PrimaryKeyConstraint('pk'),
    sa.UniqueConstraint('rtype', 'rid', name='uq_resources_type_id')
    )
    op.create_index('ix_resources_type_pk', 'resources', ['rtype', 'deleted', 'pk'], unique=False)
    op.create_index('ix_resources_type_updated', 'resources', ['rtype', 'updated'], unique=False)



def downgrade() -> None:
    raise NotImplementedError("the baseline is not removed: drop the database instead")
