"""Recording notices: publish, change (always a new version), retire; and the per-attempt proof.

A notice row is never edited once published: attempts point at the exact version they played, and
the proof must keep saying what the callee heard (CNIL: information before recording; DE §201 StGB).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from campaigns.models import Attempt, RecordingNotice
from campaigns.services.audio import AudioFormat, accepted_audio_format
from contacts.services.audit import audit

# Fields a change may touch; anything else (country, language) makes a different notice.
CHANGEABLE_FIELDS = ("mode", "text", "audio", "effective_from", "effective_to", "active")

# A BCP 47 primary language (ISO 639-1 or -2), optionally with an ISO 3166-1 region, lowercased as
# the resolver compares it with the callee's (`campaigns.selectors.notices.language_order`). The
# code also names the stored audio file: "fr/x" or "../.." made folders of it.
LANGUAGE_CODE = re.compile(r"[a-z]{2,3}(?:-[a-z]{2})?")
LANGUAGE_MESSAGE = "Use an ISO 639 language code, optionally with a region: fr, nl-BE."


def check_language_and_audio(*, language: str | None, audio=None) -> AudioFormat | None:
    """The format of the notice's audio (None without audio); one ValidationError naming
    `language` and/or `audio` when the language is not a language code (None: not given, as on a
    change) or the audio is not an accepted audio format (`campaigns.services.audio`)."""
    errors: dict[str, list[str]] = {}
    if language is not None and not LANGUAGE_CODE.fullmatch(language.lower()):
        errors["language"] = [LANGUAGE_MESSAGE]
    audio_format = None
    if audio:
        try:
            audio_format = accepted_audio_format(audio, field="audio")
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return audio_format


def check_notice(
    *, country: str, language: str, mode: str, text: str, effective_from, effective_to, audio
) -> AudioFormat | None:
    """publish_notice's checks (the admin's form runs them too); raises ValidationError naming each
    field, else returns the audio's format (None without audio)."""
    errors: dict[str, Any] = {}
    if not re.fullmatch(r"[A-Z]{2}", country or ""):
        errors["country"] = "Use an ISO 3166-1 alpha-2 code, e.g. FR."
    if mode not in RecordingNotice.Mode.values:
        errors["mode"] = f"Use one of {', '.join(RecordingNotice.Mode.values)}."
    if not (text or "").strip():
        errors["text"] = "The notice text is required (it is the proof of what was said)."
    if effective_from is None:
        errors["effective_from"] = "Required."
    elif effective_to is not None and effective_to < effective_from:
        errors["effective_to"] = "Must be on or after effective_from."
    audio_format = None
    try:
        audio_format = check_language_and_audio(language=language, audio=audio)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return audio_format


def publish_notice(
    *,
    country: str,
    language: str,
    mode: str,
    text: str,
    effective_from: dt.date,
    effective_to: dt.date | None = None,
    audio=None,
    actor: Any,
    now: dt.datetime,
) -> RecordingNotice:
    """Publish a notice for (country, language) as the next version of that pair.

    The versions before it stay (attempts keep them); those still open-ended are closed the day
    before the new one takes effect, so exactly one version is in force on any day.
    """
    country, language = (country or "").upper(), (language or "").lower()
    audio_format = check_notice(
        country=country,
        language=language,
        mode=mode,
        text=text,
        effective_from=effective_from,
        effective_to=effective_to,
        audio=audio,
    )
    with transaction.atomic():
        # Lock the pair's rows so two publications cannot take the same version number.
        siblings = RecordingNotice.objects.select_for_update().filter(country=country, language=language)
        current = siblings.aggregate(latest=Max("version"))["latest"] or 0
        previous_open = [
            n
            for n in siblings
            if n.effective_from < effective_from
            and (n.effective_to is None or n.effective_to >= effective_from)
        ]
        for notice in previous_open:
            notice.effective_to = effective_from - dt.timedelta(days=1)
            notice.save(update_fields=["effective_to"])
        notice = RecordingNotice(
            country=country,
            language=language,
            version=current + 1,
            mode=mode,
            text=text.strip(),
            effective_from=effective_from,
            effective_to=effective_to,
        )
        if audio_format is not None:
            # A server-chosen name with the extension of the format found, never the client's.
            name = f"{country.lower()}-{language}-v{current + 1}.{audio_format.extension}"
            notice.audio.save(name, audio, save=False)
        notice.save()
        audit_details = {
            "country": country,
            "language": language,
            "version": notice.version,
            "mode": mode,
            "effective_from": effective_from.isoformat(),
            "closed_versions": [n.version for n in previous_open],
        }
        audit(actor, "campaigns.notice.published", notice, audit_details, at=now)
    return notice


def change_notice(*, notice: RecordingNotice, actor: Any, now: dt.datetime, **changes) -> RecordingNotice:
    """A change to a notice is a new version (a new row) with the changes applied; `notice` and the
    attempts that played it are untouched, except that it stops applying when the new one starts.
    Without an `effective_from`, the new version applies from today in the notice's country."""
    unknown = set(changes) - set(CHANGEABLE_FIELDS)
    if unknown:
        raise ValidationError(
            {name: "This field cannot be changed; publish a separate notice." for name in unknown}
        )
    from campaigns.selectors.notices import country_day  # noqa: PLC0415

    effective_from = changes.get("effective_from") or max(
        notice.effective_from, country_day(notice.country, now)
    )
    # The old end date carries over only if it still lies after the new start.
    keep_to = notice.effective_to if notice.effective_to and notice.effective_to >= effective_from else None
    new = publish_notice(
        country=notice.country,
        language=notice.language,
        mode=changes.get("mode", notice.mode),
        text=changes.get("text", notice.text),
        effective_from=effective_from,
        effective_to=changes.get("effective_to", keep_to),
        audio=changes.get("audio"),
        actor=actor,
        now=now,
    )
    if "audio" not in changes and notice.audio:
        # The same recorded audio still applies: share the file, it is never rewritten in place.
        RecordingNotice.objects.filter(pk=new.pk).update(audio=notice.audio.name)
        new.audio = notice.audio.name
    if changes.get("active") is False:
        new = retire_notice(notice=new, actor=actor, now=now)
    return new


def retire_notice(*, notice: RecordingNotice, actor: Any, now: dt.datetime) -> RecordingNotice:
    """Stop offering a notice version (it stays as proof for the attempts that played it)."""
    with transaction.atomic():
        updated = RecordingNotice.objects.filter(pk=notice.pk, active=True).update(active=False)
        if updated:
            audit(actor, "campaigns.notice.retired", notice, {"version": notice.version}, at=now)
    notice.refresh_from_db()
    return notice


def notice_proof_fields(*, notice: RecordingNotice | None, played: bool | None, answer: str = "") -> dict:
    """The Attempt fields that prove what the callee heard, for result posting (issue 6) to set
    when it stores an attempt: `Attempt(..., **notice_proof_fields(...))`.

    `answer` is one of Attempt.NoticeAnswer ("" when unknown). A "consented" or "objected" answer
    without a played notice is contradictory and refused, as is an answer to no notice.
    """
    answer = answer or ""
    if answer and answer not in Attempt.NoticeAnswer.values:
        raise ValidationError({"notice_answer": f"Use one of {', '.join(Attempt.NoticeAnswer.values)}."})
    if answer in (Attempt.NoticeAnswer.CONSENTED, Attempt.NoticeAnswer.OBJECTED) and not played:
        raise ValidationError({"notice_answer": "An answer to the notice needs notice_played=true."})
    if played and notice is None:
        raise ValidationError({"notice": "notice_played=true needs the notice version that was played."})
    return {"notice": notice, "notice_played": played, "notice_answer": answer}


def is_non_compliant(attempt: Attempt) -> bool:
    """An attempt that reached the callee without a played notice (see
    `campaigns.selectors.recordings.non_compliant_q`, the same rule in SQL)."""
    from campaigns.selectors.recordings import reached_callee  # noqa: PLC0415

    return attempt.notice_played is not True and reached_callee(attempt)
