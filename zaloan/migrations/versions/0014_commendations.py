"""Commendations of the yearly review: proposals, the tips that earned them, signed decisions.

Revision ID: 0014
Revises: 0020
"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('commendation_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('commune_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('signed_on', sa.Date(), nullable=False),
    sa.Column('signer', sa.String(length=120), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('client_key', sa.String(length=64), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['commune_id'], ['units.id'], name=op.f('fk_commendation_decisions_commune_id_units')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_commendation_decisions_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commendation_decisions')),
    sa.UniqueConstraint('client_key', name=op.f('uq_commendation_decisions_client_key')),
    sa.UniqueConstraint('commune_id', 'number', name=op.f('uq_commendation_decisions_commune_id'))
    )
    with op.batch_alter_table('commendation_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commendation_decisions_commune_id'), ['commune_id'], unique=False)

    op.create_table('commendations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('commune_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('informant_id', sa.Integer(), nullable=True),
    sa.Column('verifier_id', sa.Integer(), nullable=True),
    sa.Column('village_id', sa.Integer(), nullable=True),
    sa.Column('collective_name', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('reward', sa.String(length=120), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('proposed_by_id', sa.Integer(), nullable=False),
    sa.Column('proposed_at', sa.DateTime(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=False),
    sa.Column('decision_id', sa.Integer(), nullable=True),
    sa.Column('client_key', sa.String(length=64), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['commune_id'], ['units.id'], name=op.f('fk_commendations_commune_id_units')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_commendations_decided_by_id_users')),
    sa.ForeignKeyConstraint(['decision_id'], ['commendation_decisions.id'], name=op.f('fk_commendations_decision_id_commendation_decisions')),
    sa.ForeignKeyConstraint(['informant_id'], ['informants.id'], name=op.f('fk_commendations_informant_id_informants')),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['users.id'], name=op.f('fk_commendations_proposed_by_id_users')),
    sa.ForeignKeyConstraint(['verifier_id'], ['users.id'], name=op.f('fk_commendations_verifier_id_users')),
    sa.ForeignKeyConstraint(['village_id'], ['units.id'], name=op.f('fk_commendations_village_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commendations')),
    sa.UniqueConstraint('client_key', name=op.f('uq_commendations_client_key'))
    )
    with op.batch_alter_table('commendations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commendations_commune_id'), ['commune_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_commendations_decision_id'), ['decision_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_commendations_informant_id'), ['informant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_commendations_proposed_by_id'), ['proposed_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_commendations_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_commendations_verifier_id'), ['verifier_id'], unique=False)

    op.create_table('commendation_tips',
    sa.Column('commendation_id', sa.Integer(), nullable=False),
    sa.Column('tip_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['commendation_id'], ['commendations.id'], name=op.f('fk_commendation_tips_commendation_id_commendations')),
    sa.ForeignKeyConstraint(['tip_id'], ['tips.id'], name=op.f('fk_commendation_tips_tip_id_tips')),
    sa.PrimaryKeyConstraint('commendation_id', 'tip_id', name=op.f('pk_commendation_tips'))
    )


def downgrade():
    op.drop_table('commendation_tips')
    with op.batch_alter_table('commendations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commendations_verifier_id'))
        batch_op.drop_index(batch_op.f('ix_commendations_status'))
        batch_op.drop_index(batch_op.f('ix_commendations_proposed_by_id'))
        batch_op.drop_index(batch_op.f('ix_commendations_informant_id'))
        batch_op.drop_index(batch_op.f('ix_commendations_decision_id'))
        batch_op.drop_index(batch_op.f('ix_commendations_commune_id'))

    op.drop_table('commendations')
    with op.batch_alter_table('commendation_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commendation_decisions_commune_id'))

    op.drop_table('commendation_decisions')
