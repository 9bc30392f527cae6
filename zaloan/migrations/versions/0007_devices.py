"""Device cookies against lock-out by strangers; what a person's own sessions page shows.

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('device_key', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_login_attempts_device_key'), ['device_key'], unique=False)

    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('browser', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('os', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('device_key', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('device_revoked_at', sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_user_sessions_device_key'), ['device_key'], unique=False)


def downgrade():
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_sessions_device_key'))
        batch_op.drop_column('device_revoked_at')
        batch_op.drop_column('device_key')
        batch_op.drop_column('os')
        batch_op.drop_column('browser')

    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_attempts_device_key'))
        batch_op.drop_column('device_key')
