from django.db import models
from django.db.models import Q

from config.fields import JSONField  # JSON typed into forms: see that module


class Prospect(models.Model):
    """A person who may be called. Personal fields are wiped on erasure (`erased_at` set)."""

    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    language = models.CharField(max_length=8, blank=True, help_text="ISO 639-1, e.g. fr, nl, de")
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2 of the callee")
    postcode = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    # Subdivision code as the `holidays` package names it (FR "57", DE "BY", ES "CN", IT "MI", PT "20").
    region = models.CharField(max_length=20, blank=True)
    email = models.EmailField(blank=True)
    source = models.CharField(max_length=100, blank=True)
    external_ref = models.CharField(max_length=100, blank=True)
    is_customer = models.BooleanField(default=False)
    contract_ref = models.CharField(max_length=100, blank=True)
    tags = JSONField(default=list, blank=True)
    last_contact_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # Meta indexes rather than db_index: on PostgreSQL db_index on a CharField adds a second,
        # varchar_pattern_ops index for LIKE that no query here uses, and every index costs each
        # of the million rows an import writes (measured in bench/bench_import_prospects.py).
        indexes = [
            models.Index(fields=["country"], name="prospect_country_idx"),
            models.Index(fields=["source"], name="prospect_source_idx"),
            # Contacted prospects only: an imported one has no contact yet, and indexing a million
            # NULLs cost each import about 1 s of PostgreSQL time. "Contacted since" filters imply
            # NOT NULL, so they still use it; retention reads COALESCE(last contact, creation) in
            # keyset batches by id, which no index on this column serves.
            models.Index(
                fields=["last_contact_at"],
                name="prospect_last_contact_idx",
                condition=Q(last_contact_at__isnull=False),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_ref"],
                condition=~Q(external_ref=""),
                name="prospect_external_ref_unique_per_source",
            )
        ]

    def __str__(self) -> str:
        if self.erased_at:
            return f"erased prospect #{self.pk}"
        return f"{self.first_name} {self.last_name}".strip() or f"prospect #{self.pk}"


class PhoneNumber(models.Model):
    """One number of one prospect, normalised once by `phonenumbers` at import.

    E.164 is a plain CharField on purpose: PhoneNumberField re-parses on every load and save
    (measured 2.5× slower bulk_create), and the dialler API wants the canonical string anyway.
    """

    class Type(models.TextChoices):
        MOBILE = "mobile"
        FIXED_LINE = "fixed_line"
        FIXED_OR_MOBILE = "fixed_or_mobile"
        VOIP = "voip"
        TOLL_FREE = "toll_free"
        PERSONAL = "personal"
        UAN = "uan"
        UNKNOWN = "unknown"

    # No database constraint (the ORM relation and its CASCADE stay): PostgreSQL checks a foreign
    # key row by row, and at commit for a deferred one, so a 1,000,000-row import spent 6 s of its
    # database time checking numbers against the prospects it had written in the same transaction
    # (bench/bench_import_prospects.py, issue 3). Nothing can dangle: numbers are written only by
    # the import, together with their prospect (both ids reserved in its transaction; the admin
    # shows numbers read-only), and prospects are never deleted: erasure wipes them in place, the
    # API refuses DELETE and the admin offers erasure only.
    prospect = models.ForeignKey(
        Prospect, on_delete=models.CASCADE, related_name="numbers", db_constraint=False
    )
    raw = models.CharField(max_length=64, blank=True)
    # One number belongs to one prospect: the deduplication rule of the import.
    e164 = models.CharField(max_length=16, unique=True)
    region = models.CharField(max_length=2)
    number_type = models.CharField(max_length=20, choices=Type.choices)
    is_valid = models.BooleanField(default=True)
    # The zone the calling window is evaluated in; when the number alone is ambiguous (a Spanish
    # mobile may be on the Canaries) every candidate is kept and a call needs all of them open.
    time_zone = models.CharField(max_length=64)
    time_zone_candidates = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.e164
