from django.conf import settings
from django.db import models
from django.db.models import Q

from config.fields import JSONField  # JSON typed into forms: see that module


class Suppression(models.Model):
    """A number that must not be called: the internal do-not-call list.

    Written at once by objections (GDPR art. 21) and do-not-call outcomes; wins over every campaign.
    `number_hash` (peppered SHA-256 of the E.164) is always set; `e164` is blank once the person is
    erased, so only the hash honours the objection (CNIL: keep objections ≥ 3 years, as a hash).
    """

    class Scope(models.TextChoices):
        GLOBAL = "global"
        ADVERTISER = "advertiser"

    class Reason(models.TextChoices):
        OBJECTION = "objection"
        DO_NOT_CALL = "do_not_call"
        WRONG_NUMBER = "wrong_number"
        MANUAL = "manual"
        ERASURE = "erasure"
        COMPLAINT = "complaint"

    scope = models.CharField(max_length=20, choices=Scope.choices, default=Scope.GLOBAL)
    advertiser = models.ForeignKey("contacts.Advertiser", null=True, blank=True, on_delete=models.CASCADE)
    e164 = models.CharField(max_length=16, blank=True, db_index=True)
    number_hash = models.CharField(max_length=64, db_index=True)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    source = models.CharField(max_length=100, blank=True, help_text="agent call, API, upload, admin…")
    note = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(db_index=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(scope="global", advertiser__isnull=True)
                | Q(scope="advertiser", advertiser__isnull=False),
                name="suppression_scope_matches_advertiser",
            )
        ]

    def __str__(self) -> str:
        return f"{self.e164 or self.number_hash[:12] + '…'} ({self.reason})"


class SuppressionChange(models.Model):
    """Append-only feed of suppression changes for diallers that cache numbers on their side.

    A lift or an expiry does not create a Suppression row (it sets `expires_at`), so a cursor on
    Suppression ids would miss it: every add and every removal is written here instead, and a
    dialler reads `id > cursor` in order. `kind` tells an addition from a removal.
    """

    class Kind(models.TextChoices):
        ADDED = "added"
        REMOVED = "removed"

    suppression = models.ForeignKey(Suppression, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    e164 = models.CharField(max_length=16, blank=True)
    number_hash = models.CharField(max_length=64)
    advertiser = models.ForeignKey("contacts.Advertiser", null=True, blank=True, on_delete=models.CASCADE)
    # For an addition: when it lapses on its own, so a cache can drop it without waiting for the
    # expiry sweep to write the removal.
    expires_at = models.DateTimeField(null=True, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [
            # One removal per suppression: the expiry sweep and a lift may race.
            models.UniqueConstraint(
                fields=["suppression"], condition=Q(kind="removed"), name="one_removal_per_suppression"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.e164 or self.number_hash[:12]}"


class RegisterImport(models.Model):
    """One snapshot of a national do-not-call register. Exactly one import per register is current;
    a new import replaces it atomically. Its age decides whether the register is stale."""

    class Register(models.TextChoices):
        BLOCTEL = "bloctel", "Bloctel (FR)"
        DNCM = "dncm", "Ne m'appelez plus (BE)"
        RPO = "rpo", "Registro Pubblico delle Opposizioni (IT)"
        TPS = "tps", "Telephone Preference Service (UK)"
        ROBINSON = "robinson", "Lista Robinson (ES)"

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    register = models.CharField(max_length=20, choices=Register.choices)
    file_name = models.CharField(max_length=255, blank=True)
    # The uploaded file until the worker has read it; deleted after (it is a list of numbers).
    file = models.FileField(upload_to="register_imports/", blank=True)
    file_date = models.DateField(help_text="Date the register operator produced the file")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    is_current = models.BooleanField(default=False)
    lines_total = models.PositiveBigIntegerField(default=0)
    entries_count = models.PositiveBigIntegerField(default=0)
    rejected_count = models.PositiveBigIntegerField(default=0)
    error = models.TextField(blank=True)
    # Bounds of the ids of this snapshot's entries (from the id sequence before and after writing):
    # the old snapshot is deleted in primary-key windows between them. Deleting advances the low
    # bound past each window it has emptied, so low > high means nothing is left to delete.
    entry_id_low = models.BigIntegerField(null=True, blank=True, editable=False)
    entry_id_high = models.BigIntegerField(null=True, blank=True, editable=False)
    # When the running job last reported progress: a running job silent for long has lost its
    # process, and the sweep fails it (contacts.services.registers.fail_stalled_register_imports).
    progress_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Rejected lines as {"line": n, "reason": "...", "raw": "..."}, capped (see registers.py).
    rejected_lines = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["register"], condition=Q(is_current=True), name="one_current_import_per_register"
            )
        ]

    def __str__(self) -> str:
        return f"{self.register} {self.file_date}"


class RegisterEntry(models.Model):
    """A number listed in a register snapshot. `number_key` is the E.164, or for registers consulted
    by hash (Lista Robinson) the register's own hash of it."""

    # No database FK constraint and no index on it (measured on 200k rows: 10.5 s with both, 3.4 s
    # without): entries are written only by the import service, into a snapshot it owns, and
    # deleted by it by id window (`entry_id_low`/`entry_id_high`); lookups go through
    # register_entry_lookup_idx and then the import's primary key.
    register_import = models.ForeignKey(
        RegisterImport, on_delete=models.CASCADE, related_name="entries", db_constraint=False, db_index=False
    )
    register = models.CharField(max_length=20, choices=RegisterImport.Register.choices)
    number_key = models.CharField(max_length=64)
    registered_at = models.DateField(null=True, blank=True, help_text="BE: a later consent overrides it")

    class Meta:
        # Every look-up is "is this key in that snapshot?" (by register or by import): number_key
        # first serves both; a snapshot's own rows are reached by id window, never by this index.
        indexes = [models.Index(fields=["number_key", "register_import"], name="register_entry_lookup_idx")]

    def __str__(self) -> str:
        return f"{self.register}:{self.number_key}"


class ConsentRecord(models.Model):
    """Proof of a legal basis to call (or record) a person, given to one advertiser."""

    class Purpose(models.TextChoices):
        TELEMARKETING = "telemarketing"
        RECORDING = "recording"

    class Basis(models.TextChoices):
        CONSENT = "consent"
        CONTRACT = "contract", "Ongoing contract"

    prospect = models.ForeignKey("contacts.Prospect", on_delete=models.CASCADE, related_name="consents")
    advertiser = models.ForeignKey("contacts.Advertiser", on_delete=models.PROTECT, related_name="consents")
    purpose = models.CharField(max_length=20, choices=Purpose.choices, default=Purpose.TELEMARKETING)
    basis = models.CharField(max_length=20, choices=Basis.choices, default=Basis.CONSENT)
    contract_ref = models.CharField(max_length=100, blank=True)
    given_at = models.DateTimeField()
    channel = models.CharField(max_length=50, blank=True, help_text="web form, phone, paper, event…")
    # text_version, form, source, ip…: whatever proves the consent was informed and specific.
    evidence = JSONField(default=dict, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    # DE §7a UWG: keep proof 5 years from the grant and again from each use.
    last_used_at = models.DateTimeField(null=True, blank=True)
    # ES: consent to commercial calls must be renewed every 2 years.
    valid_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-given_at"]
        indexes = [models.Index(fields=["prospect", "advertiser", "purpose"], name="consent_lookup_idx")]

    def __str__(self) -> str:
        return f"{self.basis} {self.purpose} of prospect #{self.prospect_id} for {self.advertiser_id}"
