"""Field trial: commune settings, first read of a tip, task urgency, keys on every create.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('commune_settings',
    sa.Column('commune_id', sa.Integer(), nullable=False),
    sa.Column('duty_phone', sa.String(length=20), nullable=False),
    sa.Column('due_hours_low', sa.Integer(), nullable=False),
    sa.Column('due_hours_normal', sa.Integer(), nullable=False),
    sa.Column('due_hours_high', sa.Integer(), nullable=False),
    sa.Column('due_hours_emergency', sa.Integer(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['commune_id'], ['units.id'], name=op.f('fk_commune_settings_commune_id_units')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_commune_settings_updated_by_id_users')),
    sa.PrimaryKeyConstraint('commune_id', name=op.f('pk_commune_settings'))
    )
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_key', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_categories_client_key'), ['client_key'])

    with op.batch_alter_table('time_windows', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_key', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_time_windows_client_key'), ['client_key'])

    with op.batch_alter_table('tips', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_read_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('first_read_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_tips_first_read_by_id_users'), 'users', ['first_read_by_id'], ['id'])

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_key', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_users_client_key'), ['client_key'])

    with op.batch_alter_table('verification_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('urgency', sa.Integer(), nullable=False, server_default='2'))
        batch_op.add_column(sa.Column('client_key', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('content_hash', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_verification_tasks_client_key'), ['client_key'])

    with op.batch_alter_table('watch_points', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_key', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_watch_points_client_key'), ['client_key'])

    # Tips the police already worked on were read at their first police step.
    op.execute(
        "UPDATE tips SET first_read_at = (SELECT MIN(e.created_at) FROM tip_events e "
        "WHERE e.tip_id = tips.id AND e.actor_id IS NOT NULL), "
        "first_read_by_id = (SELECT e.actor_id FROM tip_events e WHERE e.tip_id = tips.id "
        "AND e.actor_id IS NOT NULL ORDER BY e.id LIMIT 1)"
    )
    # A task made before urgency was chosen on the form carries its tip's urgency.
    op.execute("UPDATE verification_tasks SET urgency = (SELECT t.urgency FROM tips t "
               "WHERE t.id = verification_tasks.tip_id)")


def downgrade():
    with op.batch_alter_table('watch_points', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_watch_points_client_key'), type_='unique')
        batch_op.drop_column('client_key')

    with op.batch_alter_table('verification_tasks', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_verification_tasks_client_key'), type_='unique')
        batch_op.drop_column('content_hash')
        batch_op.drop_column('client_key')
        batch_op.drop_column('urgency')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_users_client_key'), type_='unique')
        batch_op.drop_column('client_key')

    with op.batch_alter_table('tips', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_tips_first_read_by_id_users'), type_='foreignkey')
        batch_op.drop_column('first_read_by_id')
        batch_op.drop_column('first_read_at')

    with op.batch_alter_table('time_windows', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_time_windows_client_key'), type_='unique')
        batch_op.drop_column('client_key')

    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_categories_client_key'), type_='unique')
        batch_op.drop_column('client_key')

    op.drop_table('commune_settings')
