from django.db import models


class ConfigVersion(models.Model):
    """One row whose `version` changes, in the same transaction, with every write to the
    configuration a lease request reads: campaigns, country policies, recording notices, floors
    and the diallers' floors. Database triggers set it (`campaigns.config_version`), so writes through the
    ORM, the admin, `QuerySet.update` and raw SQL are all seen.

    `campaigns.selectors.lease_config` keeps that configuration in memory per process and reads
    only this row per request: a change committed anywhere is used by the next request of every
    worker, as if the tables had been read again.

    The values are random (only equality is compared), so neither a change that was rolled back
    nor a database restored to an earlier point can be mistaken for a later one; the triggers are
    in `campaigns.config_version`.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    version = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = "configuration version"

    def __str__(self) -> str:
        return f"configuration version {self.version}"
