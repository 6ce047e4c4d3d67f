# Partial indexes for the two lead references looked up only by value (see Lead.Meta.indexes):
# a NULL column adds no index entry to the row versions every lease and result writes.
#
# The lead table is the largest one written while diallers work: on PostgreSQL the indexes are
# built and dropped CONCURRENTLY (hence `atomic = False`), so leasing and results carry on during
# the migration. SQLite gets the same indexes with plain statements. The state operations are what
# makemigrations wrote.

import django.db.models.deletion
from django.db import migrations, models

# The index names Django gave the foreign keys' own indexes (schema_editor._create_index_name).
OLD = {"lease_id": "campaigns_lead_lease_id_941d42e1", "callback_agent_id": "campaigns_lead_callback_agent_id_35b50236"}
NEW = {"lease_id": "lead_lease_idx", "callback_agent_id": "lead_callback_agent_idx"}


def _concurrently(schema_editor) -> str:
    return " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""


def forwards(apps, schema_editor):
    how = _concurrently(schema_editor)
    for column, name in NEW.items():
        schema_editor.execute(
            f'CREATE INDEX{how} IF NOT EXISTS "{name}" ON "campaigns_lead" ("{column}") WHERE "{column}" IS NOT NULL'
        )
    for name in OLD.values():
        schema_editor.execute(f'DROP INDEX{how} IF EXISTS "{name}"')


def backwards(apps, schema_editor):
    how = _concurrently(schema_editor)
    for column, name in OLD.items():
        schema_editor.execute(f'CREATE INDEX{how} IF NOT EXISTS "{name}" ON "campaigns_lead" ("{column}")')
    for name in NEW.values():
        schema_editor.execute(f'DROP INDEX{how} IF EXISTS "{name}"')


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('campaigns', '0013_config_version'),
        ('contacts', '0010_contacted_prospects_index'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forwards, backwards)],
            state_operations=[
                migrations.AlterField(
                    model_name='lead',
                    name='callback_agent',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='callbacks', to='campaigns.agent'),
                ),
                migrations.AlterField(
                    model_name='lead',
                    name='lease',
                    field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='leads', to='campaigns.lease'),
                ),
                migrations.AddIndex(
                    model_name='lead',
                    index=models.Index(condition=models.Q(('lease__isnull', False)), fields=['lease'], name='lead_lease_idx'),
                ),
                migrations.AddIndex(
                    model_name='lead',
                    index=models.Index(condition=models.Q(('callback_agent__isnull', False)), fields=['callback_agent'], name='lead_callback_agent_idx'),
                ),
            ],
        ),
    ]
