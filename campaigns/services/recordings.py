"""Recordings: attach (refused when the law forbids it), retention date, purge, playback audit.

DOMAIN promise 5: no recording outlives its retention, and each purge is logged. The purge deletes
the media (file or external reference) and keeps the row as proof of when and why.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.db import IntegrityError, transaction
from django.db.models import Q

from campaigns.models import Attempt, CampaignRecordingPolicy, Recording
from campaigns.selectors.notices import ASK_CONSENT, country_recording_rule
from campaigns.services.audio import accepted_audio_format, read_head, sniff_audio_format
from campaigns.services.policies import MAX_DAYS
from contacts.services.audit import audit

logger = logging.getLogger(__name__)

OBJECTED = Attempt.NoticeAnswer.OBJECTED.value
CONSENTED = Attempt.NoticeAnswer.CONSENTED.value

# Stable reason codes, returned by `check_recording_allowed` and carried by `RecordingRefused`.
REFUSAL_MESSAGES = {
    "notice_objected": "The callee objected to the recording when the notice was played.",
    "no_recorded_consent": (
        "This callee's country requires an explicit yes before recording (DE §201 StGB) and the "
        "attempt has no recorded consent."
    ),
    "notice_not_played": "No recording notice was played on this attempt: the callee was not informed.",
    "purged": "This attempt's recording was purged; it cannot be replaced.",
    "already_recorded": "This attempt already has a different recording.",
    "no_media": "Give either a file or a uri.",
    "file_and_uri": "Give either a file or a uri, not both.",
    "checksum_mismatch": "The checksum given does not match the SHA-256 of the uploaded file.",
    "retention_expired": "The retention period of this call has already ended: the recording may not be kept.",
}


class RecordingRefused(ValidationError):
    """A recording that must not be kept. `code` is one of REFUSAL_MESSAGES' keys."""

    def __init__(self, code: str, message: str | None = None):
        super().__init__(message or REFUSAL_MESSAGES[code], code=code)
        self.reason = code


def attempt_country(attempt: Attempt) -> str:
    """The callee's country: the notice it heard, else the prospect, else the number's region."""
    if attempt.notice_id:
        return attempt.notice.country
    if attempt.prospect_id and attempt.prospect.country:
        return attempt.prospect.country.upper()
    if attempt.phone_number_id:
        return attempt.phone_number.region.upper()
    return ""


def recording_mode(attempt: Attempt, *, at: dt.datetime) -> str:
    """The notice's mode when one was played, else the country's (so a German call without any
    notice still needs a yes)."""
    if attempt.notice_id:
        return attempt.notice.mode
    return country_recording_rule(country=attempt_country(attempt), at=at).mode


def check_recording_allowed(*, attempt: Attempt, at: dt.datetime | None = None) -> str | None:
    """None if a recording may be attached to `attempt`, else the reason code it must be refused.

    - "purged": the attempt's recording was already destroyed (retention or payment data);
    - "notice_objected": the callee objected when the notice was played (CNIL: right to object);
    - "no_recorded_consent": ask-consent country (DE §201 StGB) without a recorded yes;
    - "notice_not_played": the callee was never informed, so nothing may be kept (CNIL, GDPR
      art. 13; BE art. 128 LCE requires information *before* recording).
    """
    at = at or attempt.started_at
    existing = Recording.objects.filter(attempt=attempt).only("purged_at").first()
    if existing is not None and existing.purged_at is not None:
        return "purged"
    if attempt.notice_answer == OBJECTED:
        return "notice_objected"
    if recording_mode(attempt, at=at) == ASK_CONSENT and attempt.notice_answer != CONSENTED:
        return "no_recorded_consent"
    if attempt.notice_played is not True:
        return "notice_not_played"
    return None


def purge_after_for(*, attempt: Attempt, now: dt.datetime) -> dt.datetime:
    """When the recording of `attempt` must be destroyed: the callee country's limit, or the
    campaign's own shorter retention. Counted from the call (when the voice was captured), not
    from a late upload, so a delayed upload never extends the retention."""
    # In UTC: a retention is a duration, not a wall-clock date (no DST hour gained or lost).
    recorded_at = (min(attempt.started_at, now) if attempt.started_at else now).astimezone(dt.UTC)
    days = country_recording_rule(country=attempt_country(attempt), at=recorded_at).retention_days
    campaign_days = (
        CampaignRecordingPolicy.objects.filter(campaign_id=attempt.campaign_id)
        .values_list("retention_days", flat=True)
        .first()
    )
    if campaign_days is not None:
        days = min(days, campaign_days)
    return recorded_at + dt.timedelta(days=days)


def _sha256(file: File) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    if hasattr(file, "seek"):
        file.seek(0)
    for chunk in file.chunks() if hasattr(file, "chunks") else iter(lambda: file.read(65536), b""):
        digest.update(chunk)
        size += len(chunk)
    if hasattr(file, "seek"):
        file.seek(0)
    return digest.hexdigest(), size


def attach_recording(
    *,
    attempt: Attempt,
    file: File | None = None,
    uri: str = "",
    duration_seconds: int | None = None,
    size_bytes: int | None = None,
    checksum: str = "",
    payment_data_spoken: bool = False,
    actor: Any,
    now: dt.datetime,
) -> Recording:
    """Store a recording for `attempt` (a file in the default storage, or an external URI).

    Raises `RecordingRefused` (a ValidationError with a stable `code`) when it must not be kept,
    and a ValidationError naming `file` when the file is not one of the accepted audio formats
    (`campaigns.services.audio`).
    Posting the same file again returns the existing recording (diallers retry). When payment card
    data was spoken (flag here or on the attempt), the recording is purged at once (PCI DSS 3.3.1:
    no sensitive authentication data in any audio file): only its metadata and the purge remain.
    """
    if file is None and not uri:
        raise RecordingRefused("no_media")
    if file is not None and uri:
        raise RecordingRefused("file_and_uri")
    computed_checksum = ""
    audio_format = None
    if file is not None:
        audio_format = accepted_audio_format(file, field="file")
        computed_checksum, computed_size = _sha256(file)
        if checksum and checksum.lower() != computed_checksum:
            raise RecordingRefused("checksum_mismatch")
        checksum, size_bytes = computed_checksum, computed_size

    with transaction.atomic():
        # Serialise concurrent uploads for one attempt; the OneToOne constraint is the backstop.
        attempt = (
            Attempt.objects.select_for_update(of=("self",))
            .select_related("notice", "prospect", "phone_number")
            .get(pk=attempt.pk)
        )
        existing = Recording.objects.filter(attempt=attempt).first()
        if existing is not None:
            if existing.purged_at is not None:
                raise RecordingRefused("purged")
            if (checksum and existing.checksum == checksum) or (uri and existing.uri == uri):
                return existing  # the same media posted again: idempotent
            raise RecordingRefused("already_recorded")
        reason = check_recording_allowed(attempt=attempt, at=now)
        if reason is not None:
            raise RecordingRefused(reason)
        purge_after = purge_after_for(attempt=attempt, now=now)
        if purge_after <= now:
            # Uploaded after its retention ended: keeping it even until the next purge would break
            # the retention limit (DOMAIN promise 5).
            raise RecordingRefused("retention_expired")

        # The flag may come with this upload or with the result posted earlier (Attempt field).
        payment = payment_data_spoken or attempt.payment_data_spoken
        recording = Recording(
            attempt=attempt,
            country=attempt_country(attempt),
            uri="" if payment else uri,
            duration_seconds=duration_seconds,
            size_bytes=size_bytes,
            checksum=checksum,
            created_at=now,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            purge_after=purge_after,
        )
        if payment:
            # Never written to storage at all: the safest form of "delete immediately".
            recording.purged_at = now
            recording.purge_reason = Recording.PurgeReason.PAYMENT_DATA
        stored_name = ""
        try:
            if file is not None and audio_format is not None and not payment:
                # The extension of the format found in the content, never the client's.
                name = f"attempt-{attempt.pk}-{checksum[:12]}.{audio_format.extension}"
                recording.file.save(name, file, save=False)
                stored_name = recording.file.name
            recording.save()
            audit(
                actor,
                "campaigns.recording.attached",
                recording,
                {
                    "attempt": attempt.pk,
                    "storage": "file" if stored_name else ("uri" if recording.uri else "none"),
                    "checksum": checksum,
                    "purge_after": recording.purge_after.isoformat(),
                },
                at=now,
            )
            if payment:
                audit(
                    actor,
                    "campaigns.recording.purged",
                    recording,
                    {"ids": [recording.pk], "reason": Recording.PurgeReason.PAYMENT_DATA.value},
                    at=now,
                )
        except IntegrityError:
            _delete_media_quietly(stored_name, recording)
            raise RecordingRefused("already_recorded") from None
        except Exception:
            _delete_media_quietly(stored_name, recording)
            raise
    return recording


def _delete_media_quietly(name: str, recording: Recording) -> None:
    if name:
        try:
            recording.file.storage.delete(name)
        except Exception:  # the original error matters more than a cleanup failure
            logger.exception("could not delete orphan recording file %s", name)


def _destroy_media(recording: Recording) -> None:
    """Delete the stored file (idempotent: a missing file is already gone)."""
    if recording.file and recording.file.name:
        recording.file.storage.delete(recording.file.name)


def purge_recording_now(*, recording: Recording, reason: str, actor: Any, now: dt.datetime) -> bool:
    """Destroy one recording at once (payment data spoken, or a manual request). Idempotent:
    returns False when it was already purged."""
    if reason not in Recording.PurgeReason.values:
        raise ValueError(f"unknown purge reason {reason!r}")
    with transaction.atomic():
        recording = Recording.objects.select_for_update().get(pk=recording.pk)
        if recording.purged_at is not None:
            return False
        _destroy_media(recording)
        Recording.objects.filter(pk=recording.pk).update(file="", uri="", purged_at=now, purge_reason=reason)
        audit(
            actor, "campaigns.recording.purged", recording, {"ids": [recording.pk], "reason": reason}, at=now
        )
    return True


def purge_attempt_recording(*, attempt: Attempt, reason: str, actor: Any, now: dt.datetime) -> bool:
    """`purge_recording_now` for the recording of `attempt`, if it has one (for result posting)."""
    recording = Recording.objects.filter(attempt=attempt).first()
    if recording is None:
        return False
    return purge_recording_now(recording=recording, reason=reason, actor=actor, now=now)


def due_for_purge_q(now: dt.datetime) -> Q:
    return Q(purge_after__lte=now, purged_at__isnull=True)


def purge_recordings(
    *,
    now: dt.datetime,
    batch_size: int = 500,
    dry_run: bool = False,
    max_batches: int | None = None,
    actor: Any = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Destroy every recording whose `purge_after` <= `now`, in keyset batches by primary key.

    Each batch is one short transaction: files are deleted, references cleared, `purged_at` set and
    one audit entry lists the batch's ids. Idempotent: purged rows no longer match, and a file
    already deleted (a crash between storage and commit) is simply gone. Returns how many were
    purged (or, with `dry_run`, would be). `max_batches` bounds one run (the task re-enqueues).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    due = Recording.objects.filter(due_for_purge_q(now))
    if dry_run:
        count = due.count()
        if progress:
            progress(count)
        return count
    purged = 0
    last_id = 0
    batches = 0
    while max_batches is None or batches < max_batches:
        with transaction.atomic():
            batch = list(
                due.filter(pk__gt=last_id)
                .select_for_update(skip_locked=True)
                .order_by("pk")
                .only("pk", "file")[:batch_size]
            )
            if not batch:
                break
            for recording in batch:
                _destroy_media(recording)
            ids = [recording.pk for recording in batch]
            Recording.objects.filter(pk__in=ids, purged_at__isnull=True).update(
                file="", uri="", purged_at=now, purge_reason=Recording.PurgeReason.RETENTION
            )
            audit(
                actor,
                "campaigns.recording.purged",
                None,
                {"ids": ids, "reason": Recording.PurgeReason.RETENTION.value, "count": len(ids)},
                at=now,
            )
        last_id = ids[-1]
        purged += len(ids)
        batches += 1
        if progress:
            progress(len(ids))
    return purged


class RecordingAudioMissing(Exception):
    """A stored recording's file is gone from storage although it was never purged."""


@dataclass(frozen=True)
class Playback:
    """How to hand a stored recording to a listener: its opened file, the content type of the
    audio format found in its first bytes, and the name to offer."""

    audio: File
    content_type: str
    filename: str
    # A stored file that is none of the accepted audio formats (kept before they were enforced) is
    # only ever downloaded, as bytes: rendered inline it could run as a page on the app's origin.
    as_attachment: bool


def _playback_of(recording: Recording, audio: File) -> Playback:
    found = sniff_audio_format(read_head(audio))
    if found is None:
        logger.warning(
            "recording %s: %s is not an accepted audio format; offered as a download",
            recording.pk,
            recording.file.name,
        )
        return Playback(audio, "application/octet-stream", f"recording-{recording.pk}.bin", True)
    return Playback(audio, found.content_type, f"recording-{recording.pk}.{found.extension}", False)


def open_for_playback(*, recording: Recording, actor: Any, now: dt.datetime, channel: str) -> Playback | None:
    """The recording's audio, opened, with the playback audited; None for a recording the dialler
    keeps (its `uri` says where). The caller refuses purged recordings first.

    The content type is that of the format the file's first bytes show, never one guessed from
    its name. A file missing from storage (a lost volume, a file removed by hand) raises
    RecordingAudioMissing and logs an error for the operators; nothing was played, so nothing is
    audited.
    """
    playback = None
    if recording.file:
        try:
            audio = recording.file.open("rb")
        except FileNotFoundError as exc:
            logger.exception(
                "recording %s: audio file %s missing from storage", recording.pk, recording.file.name
            )
            raise RecordingAudioMissing(
                f"The audio of recording {recording.pk} is missing from storage; it was not purged."
            ) from exc
        playback = _playback_of(recording, audio)
    # Who listened to which call, through the API or the admin.
    audit(
        actor,
        "campaigns.recording.played",
        recording,
        {"attempt": recording.attempt_id, "channel": channel},
        at=now,
    )
    return playback


def set_campaign_retention(
    *, campaign, retention_days: int | None, actor: Any, now: dt.datetime, batch_size: int = 500
) -> CampaignRecordingPolicy | None:
    """Set (or, with None, remove) a campaign's own recording retention (audited).

    It only ever shortens the country limit. A shorter choice also applies to the campaign's stored
    recordings (their purge date moves earlier, never later: the callees were told the shorter
    period); a longer choice or a removal leaves stored recordings' dates as they are.
    """
    if retention_days is not None and retention_days < 1:
        raise ValidationError({"retention_days": "Must be at least 1 day."})
    if retention_days is not None and retention_days > MAX_DAYS:
        # Bounded as the country's limit is: setting it moves the stored recordings' purge dates to
        # call + retention_days (`_shorten_stored`), which overflows past year 9999.
        raise ValidationError({"retention_days": f"Must be at most {MAX_DAYS} days (100 years)."})
    with transaction.atomic():
        previous = (
            CampaignRecordingPolicy.objects.select_for_update()
            .filter(campaign=campaign)
            .values_list("retention_days", flat=True)
            .first()
        )
        if retention_days is None:
            CampaignRecordingPolicy.objects.filter(campaign=campaign).delete()
            policy = None
        else:
            policy, _ = CampaignRecordingPolicy.objects.update_or_create(
                campaign=campaign, defaults={"retention_days": retention_days}
            )
        shortened = 0
        if retention_days is not None and (previous is None or retention_days < previous):
            shortened = _shorten_stored(campaign=campaign, days=retention_days, batch_size=batch_size)
        audit(
            actor,
            "campaigns.recording_policy.changed",
            campaign,
            {"retention_days": retention_days, "previous": previous, "recordings_shortened": shortened},
            at=now,
        )
    return policy


def _shorten_stored(*, campaign, days: int, batch_size: int) -> int:
    """Bring forward the purge date of the campaign's unpurged recordings to call + `days`."""
    shortened = 0
    last_id = 0
    while True:
        batch = list(
            Recording.objects.filter(attempt__campaign=campaign, purged_at__isnull=True, pk__gt=last_id)
            .select_related("attempt")
            .only("pk", "purge_after", "created_at", "attempt__started_at")
            .order_by("pk")[:batch_size]
        )
        if not batch:
            return shortened
        last_id = batch[-1].pk
        changed = []
        for recording in batch:
            recorded_at = min(recording.attempt.started_at, recording.created_at).astimezone(dt.UTC)
            earlier = recorded_at + dt.timedelta(days=days)
            if earlier < recording.purge_after:
                recording.purge_after = earlier
                changed.append(recording)
        Recording.objects.bulk_update(changed, ["purge_after"])
        shortened += len(changed)
