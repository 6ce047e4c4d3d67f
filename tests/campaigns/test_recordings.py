"""Issue 7: recordings refused when the law forbids them, retention dates, purges."""

import datetime as dt
import hashlib
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile

from campaigns.models import Attempt, Recording, RecordingNotice
from campaigns.services.audio import UNSUPPORTED_AUDIO, sniff_audio_format
from campaigns.services.recordings import (
    RecordingRefused,
    attach_recording,
    check_recording_allowed,
    purge_after_for,
    purge_attempt_recording,
    purge_recording_now,
    purge_recordings,
)
from contacts.models import AuditEntry
from tests.campaigns.test_recording_factories import (
    AttemptFactory,
    CampaignRecordingPolicyFactory,
    RecordingNoticeFactory,
    wav_bytes,
    wav_file,
)
from tests.factories import CampaignFactory, PhoneNumberFactory, ProspectFactory

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")
CALL = dt.datetime(2026, 3, 2, 10, 0, tzinfo=PARIS)
# Retention is a duration counted in UTC (a DST change in between neither adds nor removes an hour).
CALL_UTC = CALL.astimezone(dt.UTC)
UPLOAD = CALL + dt.timedelta(minutes=5)


def german_attempt(**kwargs) -> Attempt:
    prospect = ProspectFactory(country="DE", language="de")
    number = PhoneNumberFactory(prospect=prospect, e164="+4915112345678", region="DE")
    kwargs.setdefault(
        "notice",
        RecordingNoticeFactory(
            country="DE",
            language="de",
            mode=RecordingNotice.Mode.ASK_CONSENT,
            text="Dürfen wir dieses Gespräch zu Qualitätszwecken aufzeichnen?",
        ),
    )
    return AttemptFactory(phone_number=number, prospect=prospect, started_at=CALL, **kwargs)


def stored_path(recording: Recording) -> Path:
    return Path(settings.MEDIA_ROOT) / recording.file.name


def test_attach_stores_the_file_with_its_sha256_and_audits():
    attempt = AttemptFactory(started_at=CALL)
    recording = attach_recording(
        attempt=attempt, file=wav_file(), duration_seconds=31, actor=None, now=UPLOAD
    )
    data = wav_bytes()
    assert recording.checksum == hashlib.sha256(data).hexdigest()
    assert recording.size_bytes == len(data)
    assert recording.country == "FR"
    assert recording.created_at == UPLOAD
    assert stored_path(recording).read_bytes() == data
    assert recording.file.name == f"recordings/2026/03/attempt-{attempt.pk}-{recording.checksum[:12]}.wav"
    # FR fallback: CNIL 6 months = 180 days, counted from the call
    assert recording.purge_after == CALL_UTC + dt.timedelta(days=180)
    entry = AuditEntry.objects.get(action="campaigns.recording.attached")
    assert entry.target_id == str(recording.pk)
    assert entry.details["checksum"] == recording.checksum


def test_attaching_the_same_file_twice_returns_the_same_recording():
    attempt = AttemptFactory(started_at=CALL)
    first = attach_recording(attempt=attempt, file=wav_file(), actor=None, now=UPLOAD)
    again = attach_recording(attempt=attempt, file=wav_file(), actor=None, now=UPLOAD)
    assert again.pk == first.pk
    assert Recording.objects.count() == 1
    with pytest.raises(RecordingRefused) as refused:
        attach_recording(attempt=attempt, file=wav_file(seconds=1), actor=None, now=UPLOAD)
    assert refused.value.reason == "already_recorded"


def test_external_uri_is_registered_without_a_file():
    attempt = AttemptFactory(started_at=CALL)
    recording = attach_recording(
        attempt=attempt, uri="https://dialler.example/rec/1.wav", size_bytes=1234, actor=None, now=UPLOAD
    )
    assert (recording.uri, recording.file.name, recording.size_bytes) == (
        "https://dialler.example/rec/1.wav",
        "",
        1234,
    )


def test_wrong_checksum_is_refused_and_nothing_is_stored():
    attempt = AttemptFactory(started_at=CALL)
    with pytest.raises(RecordingRefused) as refused:
        attach_recording(attempt=attempt, file=wav_file(), checksum="0" * 64, actor=None, now=UPLOAD)
    assert refused.value.reason == "checksum_mismatch"
    assert Recording.objects.count() == 0
    assert not (Path(settings.MEDIA_ROOT) / "recordings").exists()


def test_german_recording_without_consent_is_refused():
    attempt = german_attempt(notice_answer=Attempt.NoticeAnswer.NO_ANSWER)
    assert check_recording_allowed(attempt=attempt) == "no_recorded_consent"
    with pytest.raises(RecordingRefused) as refused:
        attach_recording(attempt=attempt, file=wav_file(), actor=None, now=UPLOAD)
    assert refused.value.reason == "no_recorded_consent"
    assert refused.value.code == "no_recorded_consent"
    assert "§201 StGB" in refused.value.messages[0]
    assert Recording.objects.count() == 0
    assert not (Path(settings.MEDIA_ROOT) / "recordings").exists()
    assert AuditEntry.objects.count() == 0


def test_german_recording_without_any_notice_is_refused_by_the_country_rule():
    attempt = german_attempt(notice=None, notice_played=False, notice_answer="")
    assert check_recording_allowed(attempt=attempt) == "no_recorded_consent"


def test_german_recording_with_a_recorded_yes_is_accepted():
    attempt = german_attempt(notice_answer=Attempt.NoticeAnswer.CONSENTED)
    assert check_recording_allowed(attempt=attempt) is None
    recording = attach_recording(attempt=attempt, file=wav_file(), actor=None, now=UPLOAD)
    assert recording.country == "DE"


def test_objection_blocks_the_recording():
    attempt = AttemptFactory(started_at=CALL, notice_answer=Attempt.NoticeAnswer.OBJECTED)
    with pytest.raises(RecordingRefused) as refused:
        attach_recording(attempt=attempt, uri="https://dialler.example/rec/2.wav", actor=None, now=UPLOAD)
    assert refused.value.reason == "notice_objected"
    assert Recording.objects.count() == 0


def test_no_notice_played_means_no_recording():
    attempt = AttemptFactory(started_at=CALL, notice_played=False, notice_answer="")
    assert check_recording_allowed(attempt=attempt) == "notice_not_played"


def test_campaign_retention_shorter_than_the_country_wins():
    campaign = CampaignFactory()
    CampaignRecordingPolicyFactory(campaign=campaign, retention_days=90)
    attempt = AttemptFactory(campaign=campaign, started_at=CALL)
    assert purge_after_for(attempt=attempt, now=UPLOAD) == CALL_UTC + dt.timedelta(days=90)


def test_campaign_retention_longer_than_the_country_is_capped():
    prospect = ProspectFactory(country="PT", language="pt")
    number = PhoneNumberFactory(prospect=prospect, e164="+351912345678", region="PT")
    notice = RecordingNoticeFactory(country="PT", language="pt", text="Esta chamada é gravada.")
    campaign = CampaignFactory(countries=["PT"])
    CampaignRecordingPolicyFactory(campaign=campaign, retention_days=90)
    attempt = AttemptFactory(
        campaign=campaign, phone_number=number, prospect=prospect, notice=notice, started_at=CALL
    )
    # CNPD Deliberação 629/2010: quality recordings at most 30 days
    assert purge_after_for(attempt=attempt, now=UPLOAD) == CALL_UTC + dt.timedelta(days=30)


def test_late_upload_does_not_extend_retention():
    attempt = AttemptFactory(started_at=CALL)
    assert purge_after_for(attempt=attempt, now=CALL_UTC + dt.timedelta(days=20)) == CALL_UTC + dt.timedelta(
        days=180
    )


def test_purge_exactly_at_the_boundary():
    campaign = CampaignFactory()
    CampaignRecordingPolicyFactory(campaign=campaign, retention_days=90)
    recording = attach_recording(
        attempt=AttemptFactory(campaign=campaign, started_at=CALL), file=wav_file(), actor=None, now=UPLOAD
    )
    path = stored_path(recording)
    boundary = CALL_UTC + dt.timedelta(days=90)
    assert recording.purge_after == boundary

    assert purge_recordings(now=boundary - dt.timedelta(seconds=1)) == 0
    recording.refresh_from_db()
    assert recording.purged_at is None
    assert path.exists()

    assert purge_recordings(now=boundary) == 1
    recording.refresh_from_db()
    assert recording.purged_at == boundary
    assert recording.purge_reason == "retention"
    assert (recording.file.name, recording.uri) == ("", "")
    assert not path.exists()
    entry = AuditEntry.objects.get(action="campaigns.recording.purged")
    assert entry.details == {"ids": [recording.pk], "reason": "retention", "count": 1}
    assert entry.at == boundary


def test_purge_is_idempotent_and_batched_by_key():
    recordings = [
        attach_recording(
            attempt=AttemptFactory(started_at=CALL),
            file=wav_file(f"{i}.wav", seconds=0.1 * (i + 1)),
            actor=None,
            now=UPLOAD,
        )
        for i in range(5)
    ]
    later = CALL_UTC + dt.timedelta(days=181)
    assert purge_recordings(now=later, dry_run=True) == 5
    assert Recording.objects.filter(purged_at__isnull=True).count() == 5
    assert purge_recordings(now=later, batch_size=2) == 5
    batches = AuditEntry.objects.filter(action="campaigns.recording.purged").order_by("id")
    assert [entry.details["ids"] for entry in batches] == [
        [recordings[0].pk, recordings[1].pk],
        [recordings[2].pk, recordings[3].pk],
        [recordings[4].pk],
    ]
    assert purge_recordings(now=later + dt.timedelta(days=1), batch_size=2) == 0
    assert AuditEntry.objects.filter(action="campaigns.recording.purged").count() == 3
    assert set(Recording.objects.values_list("purged_at", flat=True)) == {later}
    assert list((Path(settings.MEDIA_ROOT) / "recordings" / "2026" / "03").iterdir()) == []


def test_purge_survives_a_file_already_gone():
    recording = attach_recording(
        attempt=AttemptFactory(started_at=CALL), file=wav_file(), actor=None, now=UPLOAD
    )
    stored_path(recording).unlink()
    assert purge_recordings(now=CALL_UTC + dt.timedelta(days=200)) == 1


def test_max_batches_bounds_one_run():
    for i in range(3):
        attach_recording(
            attempt=AttemptFactory(started_at=CALL), uri=f"https://d.example/{i}", actor=None, now=UPLOAD
        )
    later = CALL_UTC + dt.timedelta(days=181)
    assert purge_recordings(now=later, batch_size=1, max_batches=2) == 2
    assert Recording.objects.filter(purged_at__isnull=True).count() == 1


def test_payment_flag_purges_at_once():
    recording = attach_recording(
        attempt=AttemptFactory(started_at=CALL), file=wav_file(), actor=None, now=UPLOAD
    )
    path = stored_path(recording)
    paid = UPLOAD + dt.timedelta(minutes=1)
    assert purge_recording_now(recording=recording, reason="payment_data", actor=None, now=paid) is True
    recording.refresh_from_db()
    assert (recording.purged_at, recording.purge_reason, recording.file.name) == (paid, "payment_data", "")
    assert not path.exists()
    assert purge_recording_now(recording=recording, reason="payment_data", actor=None, now=paid) is False
    assert AuditEntry.objects.filter(action="campaigns.recording.purged").count() == 1
    # The purged recording cannot be replaced
    with pytest.raises(RecordingRefused) as refused:
        attach_recording(attempt=recording.attempt, file=wav_file(), actor=None, now=paid)
    assert refused.value.reason == "purged"


def test_payment_flag_at_attach_never_stores_the_file():
    attempt = AttemptFactory(started_at=CALL)
    recording = attach_recording(
        attempt=attempt, file=wav_file(), payment_data_spoken=True, actor=None, now=UPLOAD
    )
    assert (recording.purged_at, recording.purge_reason, recording.file.name) == (UPLOAD, "payment_data", "")
    assert not (Path(settings.MEDIA_ROOT) / "recordings").exists()
    assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == [
        "campaigns.recording.attached",
        "campaigns.recording.purged",
    ]


def test_purge_attempt_recording_without_a_recording_is_a_no_op():
    attempt = AttemptFactory(started_at=CALL)
    assert purge_attempt_recording(attempt=attempt, reason="payment_data", actor=None, now=UPLOAD) is False


def test_upload_after_the_retention_ended_is_refused():
    attempt = AttemptFactory(started_at=CALL)
    end = CALL_UTC + dt.timedelta(days=180)
    with pytest.raises(RecordingRefused) as refused:
        attach_recording(attempt=attempt, file=wav_file(), actor=None, now=end)
    assert refused.value.reason == "retention_expired"
    assert Recording.objects.count() == 0
    recording = attach_recording(
        attempt=attempt, file=wav_file(), actor=None, now=end - dt.timedelta(seconds=1)
    )
    assert recording.purge_after == end


def test_a_shorter_campaign_choice_brings_stored_purge_dates_forward():
    from campaigns.services.recordings import set_campaign_retention

    campaign = CampaignFactory()
    recordings = [
        attach_recording(
            attempt=AttemptFactory(campaign=campaign, started_at=CALL),
            uri=f"https://d.example/{i}",
            actor=None,
            now=UPLOAD,
        )
        for i in range(3)
    ]
    other = attach_recording(
        attempt=AttemptFactory(started_at=CALL), uri="https://d.example/x", actor=None, now=UPLOAD
    )
    set_campaign_retention(campaign=campaign, retention_days=90, actor=None, now=UPLOAD, batch_size=2)
    assert {r.purge_after for r in Recording.objects.filter(attempt__campaign=campaign)} == {
        CALL_UTC + dt.timedelta(days=90)
    }
    other.refresh_from_db()
    assert other.purge_after == CALL_UTC + dt.timedelta(days=180)
    # A longer choice later never extends them
    set_campaign_retention(campaign=campaign, retention_days=150, actor=None, now=UPLOAD)
    recordings[0].refresh_from_db()
    assert recordings[0].purge_after == CALL_UTC + dt.timedelta(days=90)
    assert list(
        AuditEntry.objects.filter(action="campaigns.recording_policy.changed")
        .order_by("id")
        .values_list("details", flat=True)
    ) == [
        {"retention_days": 90, "previous": None, "recordings_shortened": 3},
        {"retention_days": 150, "previous": 90, "recordings_shortened": 0},
    ]


def test_payment_flag_on_the_attempt_purges_a_later_upload_at_once():
    attempt = AttemptFactory(started_at=CALL, payment_data_spoken=True)
    recording = attach_recording(attempt=attempt, file=wav_file(), actor=None, now=UPLOAD)
    assert (recording.purged_at, recording.purge_reason, recording.file.name) == (UPLOAD, "payment_data", "")
    assert not (Path(settings.MEDIA_ROOT) / "recordings").exists()


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "WAV"),
        (b"RIFF\x24\x00\x00\x00AVI LIST", None),  # RIFF holds video too
        (b"\xff\xfb\x90\x64", "MP3"),  # MPEG-1 Layer III
        (b"\xff\xf3\x48\xc4", "MP3"),  # MPEG-2 Layer III (8 kHz telephony)
        (b"ID3\x04\x00", "MP3"),
        (b"\xff\xf1\x50\x80", None),  # AAC ADTS: the same sync, layer 00
        (b"\xff\xfb\xf0\x64", None),  # bitrate index 1111 is reserved
        (b"\xff\xfe\x20\x00", None),  # a UTF-16 byte order mark, then a space
        (b"OggS\x00\x02", "Ogg Vorbis/Opus"),
        (b"OggS\x01\x02", None),  # no Ogg version but 0 exists
        (b"fLaC\x00\x00\x00\x22", None),  # not a format diallers write: refused
        (b"<svg onload=alert(1)>", None),
    ],
    ids=[
        "wav",
        "avi",
        "mp3",
        "mp3-8khz",
        "id3",
        "aac",
        "bad-bitrate",
        "utf16",
        "ogg",
        "ogg-v1",
        "flac",
        "svg",
    ],
)
def test_audio_formats_are_known_by_their_first_bytes(head, expected):
    found = sniff_audio_format(head)
    assert (found.label if found else None) == expected


def test_a_page_sent_as_a_recording_is_refused_naming_the_file_and_nothing_is_stored():
    attempt = AttemptFactory(started_at=CALL)
    page = ContentFile(b"<script>alert(document.cookie)</script>", name="call.wav")
    with pytest.raises(ValidationError) as refused:
        attach_recording(attempt=attempt, file=page, actor=None, now=UPLOAD)
    assert refused.value.message_dict == {"file": [UNSUPPORTED_AUDIO]}
    assert not isinstance(refused.value, RecordingRefused)  # a 400 for the client, not a 409
    assert Recording.objects.count() == 0
    assert not (Path(settings.MEDIA_ROOT) / "recordings").exists()
