"""Audit log sealed with a key kept outside the database; checkpoints of the chain's head.

Revision ID: 0005
Revises: 0004

Rows already in the log keep their plain SHA-256 hashes: they get the key id
"sha256" and are checked the old way; the first keyed row chains onto them.
The column is added in place (no table copy), so the append-only triggers of
the first migration stay as they are and no audit row is ever updated.
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('audit_events', sa.Column('key_id', sa.String(length=16), server_default='sha256',
                                            nullable=False))
    op.create_table('audit_checkpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('last_id', sa.Integer(), nullable=False),
    sa.Column('head_hash', sa.String(length=64), nullable=False),
    sa.Column('key_id', sa.String(length=16), nullable=False),
    sa.Column('mac', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_checkpoints'))
    )


def downgrade():
    # Rows sealed with the key cannot be checked by the code before this revision.
    op.drop_table('audit_checkpoints')
    op.drop_column('audit_events', 'key_id')
