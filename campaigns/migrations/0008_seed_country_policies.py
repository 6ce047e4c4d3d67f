"""Seed the country policies of FR, BE, NL, DE, IT, ES, PT (values and sources in
campaigns/services/policies.py, POLICY_SEED). Idempotent: existing rows are never overwritten."""

from django.db import migrations


def seed(apps, schema_editor):
    from campaigns.services.policies import seed_country_policies

    seed_country_policies(model=apps.get_model("campaigns", "CountryPolicy"))


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0007_country_policies")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
