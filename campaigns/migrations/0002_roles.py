"""The role groups. Their permissions are (re)set after every migrate by
`campaigns.roles.sync_role_permissions`, because permissions of later models do not exist yet here."""

from django.db import migrations

ROLES = ("campaign_manager", "floor_supervisor", "agent", "quality_evaluator", "dialler")


def create_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
