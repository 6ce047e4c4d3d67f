from django.db import models
from django.db.models import Q

from config.fields import JSONField  # JSON typed into forms: see that module


class CountryPolicy(models.Model):
    """The calling rules of one callee country over one period, as data.

    A rule that changes on a date (FR opt-in from 2026-08-11, NL customers need consent from
    2026-07-01) is a new row with its own `effective_from`, never an if-statement in code. Rows of one
    country must not overlap (checked by `campaigns.services.policies`). Dates are the country's legal
    (mainland) calendar dates, inclusive at both ends.

    Changed only through `campaigns.services.policies` (audited); seeded by
    `campaigns.services.policies.seed_country_policies` with the source of every value.
    """

    class LegalBasis(models.TextChoices):
        OPT_OUT = "opt_out", "Opt-out (national register and own suppression list)"
        CONSENT = "consent", "Prior consent required"

    class RegisterConsentOverride(models.TextChoices):
        NONE = "none", "A consent never overrides the register"
        ANY = "any", "Any valid consent overrides the register"
        AFTER_REGISTRATION = "after_registration", "A consent given after the registration overrides it"

    class RecordingMode(models.TextChoices):
        INFORM_OBJECT = "inform_object", "Inform at start, right to object"
        ASK_CONSENT = "ask_consent", "Explicit yes before recording"

    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2 of the callee")
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True, help_text="Last day in force (inclusive)")
    label = models.CharField(max_length=200, blank=True)
    sources = models.TextField(blank=True, help_text="Where each value comes from ([KEY] of regulation.md)")

    # Calling days and hours, in the callee's local time. {"0": [["10:00", "13:00"], ["14:00",
    # "20:00"]], …, "6": []}: weekday (Monday = 0) → intervals [start, end). Several per day.
    windows = JSONField(default=dict, blank=True)
    # {"12-05": [["00:00", "18:30"]]}: on that calendar day the day's windows are cut to these
    # intervals (intersection), e.g. NL 5 Dec "until 18:30".
    special_days = JSONField(default=dict, blank=True)
    # IT "prefestivi": on the day before a holiday the day's windows are cut to these intervals.
    holiday_eve_windows = JSONField(default=list, blank=True)
    blocked_on_holidays = models.BooleanField(default=True)
    holiday_categories = JSONField(default=list, blank=True, help_text='e.g. ["public", "catholic"]')
    # Prospect.region values that the `holidays` package names differently: FR {"67": "6AE"}.
    holiday_subdivision_aliases = JSONField(default=dict, blank=True)
    extra_blocked_dates = JSONField(default=list, blank=True, help_text='["2026-06-15", …]')

    # At most `frequency_max` calls or attempts per rolling `frequency_days` days per prospect and
    # per number, across all campaigns and floors of one advertiser.
    frequency_max = models.PositiveSmallIntegerField(null=True, blank=True)
    frequency_days = models.PositiveSmallIntegerField(null=True, blank=True)
    refusal_quiet_days = models.PositiveSmallIntegerField(null=True, blank=True)

    legal_basis = models.CharField(max_length=20, choices=LegalBasis.choices)
    # An ongoing contract (ConsentRecord basis "contract", prospect.is_customer) stands in for a
    # consent and exempts from the register.
    contract_exception = models.BooleanField(default=False)
    consent_max_age_days = models.PositiveIntegerField(null=True, blank=True)

    register = models.CharField(max_length=20, blank=True, help_text="RegisterImport.register to screen")
    register_max_age_days = models.PositiveSmallIntegerField(null=True, blank=True)
    register_consent_override = models.CharField(
        max_length=20, choices=RegisterConsentOverride.choices, default=RegisterConsentOverride.NONE
    )
    # IT: a registration in the RPO revokes every consent given before it.
    register_revokes_prior_consent = models.BooleanField(default=False)

    recording_mode = models.CharField(
        max_length=20, choices=RecordingMode.choices, default=RecordingMode.INFORM_OBJECT
    )
    recording_retention_days = models.PositiveIntegerField(null=True, blank=True)
    evaluation_retention_days = models.PositiveIntegerField(null=True, blank=True)
    prospect_retention_days = models.PositiveIntegerField(null=True, blank=True)

    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["country", "effective_from"]
        verbose_name_plural = "country policies"
        constraints = [
            models.UniqueConstraint(
                fields=["country", "effective_from"], name="policy_one_per_country_start"
            ),
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True) | Q(effective_to__gte=models.F("effective_from")),
                name="policy_period_ordered",
            ),
        ]
        permissions = [("explain_callability", "Can ask why a number may or may not be called")]

    def __str__(self) -> str:
        end = self.effective_to.isoformat() if self.effective_to else "…"
        return f"{self.country} {self.effective_from.isoformat()}–{end}"
