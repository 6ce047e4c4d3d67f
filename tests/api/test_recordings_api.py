"""Issue 7 over the API: uploads scoped to the dialler's own attempts, playback permissions and
audit, 410 after purge, notices as versions, campaign retention, reports."""

import datetime as dt
import hashlib
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from campaigns.models import Attempt, CampaignRecordingPolicy, OutcomeCode, Recording, RecordingNotice
from campaigns.services.diallers import issue_dialler_credential
from campaigns.services.recordings import attach_recording, purge_recordings
from contacts.models import AuditEntry
from tests.campaigns.test_recording_factories import (
    ID3_MP3_BYTES,
    MP3_BYTES,
    OGG_BYTES,
    PAGE_BYTES,
    AttemptFactory,
    RecordingNoticeFactory,
    wav_bytes,
    wav_file,
)
from tests.factories import (
    AgentFactory,
    CampaignFactory,
    FloorFactory,
    PhoneNumberFactory,
    ProspectFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
CALL = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
NOW = CALL + dt.timedelta(minutes=10)
PLAYBACK_HEADERS = (
    "Content-Type",
    "Content-Disposition",
    "X-Content-Type-Options",
    "Content-Security-Policy",
    "Cache-Control",
)


@pytest.fixture(autouse=True)
def _fresh_throttle_history():
    # Throttle history lives in the cache across tests; these tests travel in time.
    cache.clear()
    yield
    cache.clear()


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def floor():
    return FloorFactory(code="lyon")


@pytest.fixture
def dialler(floor):
    integration, _ = issue_dialler_credential(name="lyon-pbx", floors=[floor], actor=None, now=NOW)
    return integration


@pytest.fixture
def attempt(floor, dialler):
    return AttemptFactory(floor=floor, integration=dialler, call_id="c-1", started_at=CALL)


@pytest.fixture
def recording(attempt):
    return attach_recording(attempt=attempt, file=wav_file(), duration_seconds=12, actor=None, now=NOW)


def upload(client, attempt, **extra):
    data = {"attempt": attempt.pk, "file": SimpleUploadedFile("call.wav", wav_bytes(), "audio/wav"), **extra}
    return client.post("/api/v1/recordings/", data, format="multipart")


@time_machine.travel(NOW, tick=False)
def test_dialler_uploads_a_file_for_its_attempt(dialler, attempt):
    client = client_for(dialler.user)
    response = upload(client, attempt, duration_seconds=12)
    assert response.status_code == 201, response.json()
    body = response.json()
    digest = hashlib.sha256(wav_bytes()).hexdigest()
    assert body["checksum"] == digest
    assert body["size_bytes"] == len(wav_bytes())
    assert body["has_audio"] is True
    assert body["purge_after"] == "2026-08-29T09:00:00Z"  # FR: 180 days from the call
    recording = Recording.objects.get()
    assert (Path(settings.MEDIA_ROOT) / recording.file.name).read_bytes() == wav_bytes()
    assert AuditEntry.objects.get(action="campaigns.recording.attached").actor_label == "dialler:lyon-pbx"
    # The dialler retries: the same file answers 200 with the same recording
    again = upload(client, attempt)
    assert (again.status_code, again.json()["id"]) == (200, body["id"])


@time_machine.travel(NOW, tick=False)
def test_dialler_registers_an_external_uri(dialler, attempt):
    response = client_for(dialler.user).post(
        "/api/v1/recordings/",
        {"attempt": attempt.pk, "uri": "https://pbx.example/rec/1.wav", "duration_seconds": 30},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert Recording.objects.get().uri == "https://pbx.example/rec/1.wav"


def test_upload_without_media_is_a_400_naming_the_field(dialler, attempt):
    response = client_for(dialler.user).post("/api/v1/recordings/", {"attempt": attempt.pk}, format="json")
    assert response.status_code == 400
    assert response.json() == {"file": ["Give either a file (multipart) or a uri."]}


def test_dialler_cannot_record_another_floor_or_another_dialler_attempt(dialler, floor):
    other_floor = AttemptFactory(floor=FloorFactory(code="dakar"), started_at=CALL)
    other_dialler, _ = issue_dialler_credential(name="lyon-2", floors=[floor], actor=None, now=NOW)
    theirs = AttemptFactory(floor=floor, integration=other_dialler, call_id="x", started_at=CALL)
    client = client_for(dialler.user)
    for target in (other_floor, theirs):
        response = upload(client, target)
        assert response.status_code == 400
        assert response.json() == {"attempt": [f'Invalid pk "{target.pk}" - object does not exist.']}
    assert Recording.objects.count() == 0
    assert not (Path(settings.MEDIA_ROOT) / "recordings").exists()


def test_german_upload_without_consent_is_refused_with_a_code(dialler, floor):
    prospect = ProspectFactory(country="DE", language="de")
    number = PhoneNumberFactory(prospect=prospect, e164="+4915112345679", region="DE")
    notice = RecordingNoticeFactory(
        country="DE", language="de", mode=RecordingNotice.Mode.ASK_CONSENT, text="Dürfen wir aufzeichnen?"
    )
    attempt = AttemptFactory(
        floor=floor,
        integration=dialler,
        call_id="de-1",
        phone_number=number,
        prospect=prospect,
        notice=notice,
        notice_answer=Attempt.NoticeAnswer.NO_ANSWER,
        started_at=CALL,
    )
    response = upload(client_for(dialler.user), attempt)
    assert response.status_code == 409
    assert response.json()["code"] == "no_recorded_consent"
    assert Recording.objects.count() == 0
    assert not AuditEntry.objects.filter(action__startswith="campaigns.recording").exists()


def test_an_objection_blocks_the_upload(dialler, floor):
    attempt = AttemptFactory(
        floor=floor,
        integration=dialler,
        call_id="o-1",
        notice_answer=Attempt.NoticeAnswer.OBJECTED,
        started_at=CALL,
    )
    response = upload(client_for(dialler.user), attempt)
    assert (response.status_code, response.json()["code"]) == (409, "notice_objected")
    assert Recording.objects.count() == 0


def test_playback_permissions_and_audit(recording, floor, dialler):
    agent = AgentFactory(floor=floor).user
    supervisor = AgentFactory(
        floor=floor, is_supervisor=True, user=UserFactory(roles=["floor_supervisor"])
    ).user
    url = f"/api/v1/recordings/{recording.pk}/audio/"
    for user in (agent, supervisor, dialler.user):
        assert client_for(user).get(url).status_code == 403
    assert not AuditEntry.objects.filter(action="campaigns.recording.played").exists()

    evaluator = UserFactory(username="eva", roles=["quality_evaluator"])
    response = client_for(evaluator).get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/x-wav"
    assert response["Cache-Control"] == "no-store"
    assert b"".join(response.streaming_content) == wav_bytes()
    played = AuditEntry.objects.get(action="campaigns.recording.played")
    assert (played.actor_label, played.target_id, played.details) == (
        "eva",
        str(recording.pk),
        {"attempt": recording.attempt_id, "channel": "api"},
    )
    manager = UserFactory(username="mgr", roles=["campaign_manager"])
    assert client_for(manager).get(url).status_code == 200
    assert AuditEntry.objects.filter(action="campaigns.recording.played").count() == 2


def test_purged_recording_answers_410(recording):
    purge_recordings(now=recording.purge_after)
    evaluator = UserFactory(username="eva", roles=["quality_evaluator"])
    response = client_for(evaluator).get(f"/api/v1/recordings/{recording.pk}/audio/")
    assert response.status_code == 410
    assert response.json() == {
        "detail": f"Recording {recording.pk} was purged on 2026-08-29T09:00:00+00:00 (Retention period reached).",
        "purged_at": "2026-08-29T09:00:00Z",
        "purge_reason": "retention",
    }
    assert not AuditEntry.objects.filter(action="campaigns.recording.played").exists()
    detail = client_for(evaluator).get(f"/api/v1/recordings/{recording.pk}/").json()
    assert (detail["has_audio"], detail["purged_at"]) == (False, "2026-08-29T09:00:00Z")


def test_audio_missing_from_storage_is_a_404_not_a_500(recording, caplog):
    """Found by fuzzing: a recording whose file was lost (not purged) made playback raise
    FileNotFoundError. It answers 404 saying so, logs an error, and audits no playback."""
    (Path(settings.MEDIA_ROOT) / recording.file.name).unlink()
    evaluator = UserFactory(username="eva", roles=["quality_evaluator"])
    response = client_for(evaluator).get(f"/api/v1/recordings/{recording.pk}/audio/")
    assert (response.status_code, response.json()) == (
        404,
        {"detail": f"The audio of recording {recording.pk} is missing from storage; it was not purged."},
    )
    assert not AuditEntry.objects.filter(action="campaigns.recording.played").exists()
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == [
        f"recording {recording.pk}: audio file {recording.file.name} missing from storage"
    ]


def test_report_filter_beyond_64_bits_is_a_400_naming_it(floor):
    manager = UserFactory(username="mgr", roles=["campaign_manager"])
    for report in ("notices-played", "non-compliant"):
        response = client_for(manager).get(f"/api/v1/recordings/reports/{report}/?campaign={2**70}")
        assert (response.status_code, response.json()) == (
            400,
            {"campaign": ["Ensure this value is less than or equal to 9223372036854775807."]},
        )


def test_manager_purges_for_payment_data(recording):
    manager = UserFactory(username="mgr", roles=["campaign_manager"])
    path = Path(settings.MEDIA_ROOT) / recording.file.name
    bad = client_for(manager).post(f"/api/v1/recordings/{recording.pk}/purge/", {"reason": "because"})
    assert (bad.status_code, bad.json()) == (400, {"reason": ["Use one of payment_data, manual."]})
    assert path.exists()
    response = client_for(manager).post(
        f"/api/v1/recordings/{recording.pk}/purge/", {"reason": "payment_data"}
    )
    assert response.status_code == 200
    assert response.json()["purge_reason"] == "payment_data"
    assert not path.exists()
    evaluator = UserFactory(username="eva", roles=["quality_evaluator"])
    assert client_for(evaluator).post(f"/api/v1/recordings/{recording.pk}/purge/", {}).status_code == 403


def test_recording_list_is_floor_scoped(recording, floor, django_assert_max_num_queries):
    for _ in range(3):
        attach_recording(
            attempt=AttemptFactory(floor=floor, started_at=CALL),
            uri="https://pbx.example/r",
            actor=None,
            now=NOW,
        )
    elsewhere = attach_recording(
        attempt=AttemptFactory(floor=FloorFactory(code="tunis"), started_at=CALL),
        uri="https://pbx.example/t",
        actor=None,
        now=NOW,
    )
    evaluator = UserFactory(username="eva", roles=["quality_evaluator"])
    with django_assert_max_num_queries(8):
        everything = client_for(evaluator).get("/api/v1/recordings/")
    assert everything.json()["count"] == 5
    assert elsewhere.pk in {row["id"] for row in everything.json()["results"]}
    # An agent holds no view_recording at all
    assert client_for(AgentFactory(floor=floor).user).get("/api/v1/recordings/").status_code == 403


@time_machine.travel(NOW, tick=False)
def test_notice_api_publishes_versions():
    manager = UserFactory(username="mgr", roles=["campaign_manager"])
    client = client_for(manager)
    created = client.post(
        "/api/v1/recording-notices/",
        {
            "country": "NL",
            "language": "nl",
            "mode": "inform_object",
            "text": "Dit gesprek wordt opgenomen.",
            "effective_from": "2026-01-01",
        },
    )
    assert created.status_code == 201, created.json()
    assert created.json()["version"] == 1
    changed = client.post(
        f"/api/v1/recording-notices/{created.json()['id']}/new-version/",
        {"text": "Dit gesprek wordt opgenomen voor kwaliteitsdoeleinden.", "effective_from": "2026-04-01"},
    )
    assert changed.status_code == 201, changed.json()
    assert (changed.json()["version"], changed.json()["effective_from"]) == (2, "2026-04-01")
    assert RecordingNotice.objects.get(version=1).effective_to == dt.date(2026, 3, 31)
    bad = client.post(
        "/api/v1/recording-notices/",
        {
            "country": "Netherlands",
            "language": "nl",
            "mode": "inform_object",
            "text": "x",
            "effective_from": "2026-01-01",
        },
    )
    assert bad.status_code == 400
    assert "country" in bad.json()
    agent = AgentFactory().user
    refused = client_for(agent).post(
        "/api/v1/recording-notices/",
        {
            "country": "NL",
            "language": "nl",
            "mode": "inform_object",
            "text": "x",
            "effective_from": "2026-01-01",
        },
    )
    assert refused.status_code == 403
    assert RecordingNotice.objects.count() == 2


@time_machine.travel(NOW, tick=False)
def test_campaign_retention_policy_is_an_audited_upsert():
    manager = UserFactory(username="mgr", roles=["campaign_manager"])
    campaign = CampaignFactory()
    client = client_for(manager)
    assert (
        client.post(
            "/api/v1/recording-policies/", {"campaign": campaign.pk, "retention_days": 120}
        ).status_code
        == 201
    )
    response = client.post("/api/v1/recording-policies/", {"campaign": campaign.pk, "retention_days": 90})
    assert response.status_code == 201
    assert CampaignRecordingPolicy.objects.get(campaign=campaign).retention_days == 90
    assert list(
        AuditEntry.objects.filter(action="campaigns.recording_policy.changed")
        .order_by("id")
        .values_list("details", flat=True)
    ) == [
        {"retention_days": 120, "previous": None, "recordings_shortened": 0},
        {"retention_days": 90, "previous": 120, "recordings_shortened": 0},
    ]
    zero = client.post("/api/v1/recording-policies/", {"campaign": campaign.pk, "retention_days": 0})
    assert zero.status_code == 400
    huge = client.post("/api/v1/recording-policies/", {"campaign": campaign.pk, "retention_days": 2**31 - 1})
    assert (huge.status_code, huge.json()) == (
        400,
        {"retention_days": ["Must be at most 36500 days (100 years)."]},
    )
    assert CampaignRecordingPolicy.objects.get(campaign=campaign).retention_days == 90


def test_reports(floor, dialler, django_assert_max_num_queries):
    manager = UserFactory(username="mgr", roles=["campaign_manager"])
    campaign = CampaignFactory(name="Model E test drive")
    played = AttemptFactory(campaign=campaign, floor=floor, started_at=CALL)
    AttemptFactory(
        campaign=campaign, floor=floor, started_at=CALL, notice_answer=Attempt.NoticeAnswer.OBJECTED
    )
    missing = AttemptFactory(
        campaign=campaign, floor=floor, started_at=CALL, notice_played=False, notice_answer=""
    )
    no_contact = OutcomeCode.objects.create(
        campaign=campaign, code="no-answer", label="No answer", category="no_contact", action="retry"
    )
    AttemptFactory(
        campaign=campaign,
        floor=floor,
        outcome=no_contact,
        started_at=CALL,
        answered_at=None,
        notice=None,
        notice_played=None,
        notice_answer="",
    )
    client = client_for(manager)
    with django_assert_max_num_queries(6):
        rows = client.get("/api/v1/recordings/reports/notices-played/").json()
    assert rows == [
        {
            "country": "FR",
            "campaign": campaign.pk,
            "campaign_name": "Model E test drive",
            "reached": 3,
            "played": 2,
            "objected": 1,
            "consented": 0,
            "no_answer": 1,
            "non_compliant": 1,
        }
    ]
    non_compliant = client.get("/api/v1/recordings/reports/non-compliant/").json()
    assert [row["id"] for row in non_compliant["results"]] == [missing.pk]
    assert "agent_code" not in non_compliant["results"][0]

    soon = attach_recording(attempt=played, file=wav_file(), actor=None, now=NOW)
    with time_machine.travel(soon.purge_after - dt.timedelta(days=3), tick=False):
        due = client.get("/api/v1/recordings/reports/due-for-purge/").json()
    assert [row["id"] for row in due["results"]] == [soon.pk]
    assert due["summary"] == [{"country": "FR", "day": "2026-08-29", "count": 1}]
    with time_machine.travel(soon.purge_after - dt.timedelta(days=8), tick=False):
        assert client.get("/api/v1/recordings/reports/due-for-purge/").json()["count"] == 0
    evaluator = UserFactory(username="eva", roles=["quality_evaluator"])
    assert client_for(evaluator).get("/api/v1/recordings/reports/notices-played/").status_code == 403


UNSUPPORTED_AUDIO = (
    "Not a supported audio file. Accepted formats: WAV (.wav), MP3 (.mp3), "
    "Ogg Vorbis/Opus (.oga, .ogg, .opus); the file name's extension and the content must be of "
    "the same format."
)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("call.html", PAGE_BYTES),  # the fuzzer's page, sent as audio/wav
        ("call.wav", PAGE_BYTES),  # an audio name does not make it audio
        ("call.html", wav_bytes()),  # audio under a page's name
        ("call.mp3", wav_bytes()),  # the name and the content disagree
        ("call", wav_bytes()),
        ("call.wav", b"RIFF"),  # a truncated header
        ("call.wav", b"\xff\xfe<\x00h\x00t\x00m\x00l\x00>\x00"),  # UTF-16 text looks like an MPEG sync
    ],
    ids=["page", "page-named-wav", "wav-named-html", "wav-named-mp3", "no-extension", "truncated", "utf16"],
)
def test_upload_that_is_not_accepted_audio_is_a_400_naming_the_file(dialler, attempt, name, content):
    """Found by fuzzing: `call.html` holding a script, sent as audio/wav, was stored as
    `attempt-N-….html` and played back inline as text/html on the app's origin (stored XSS)."""
    response = client_for(dialler.user).post(
        "/api/v1/recordings/",
        {"attempt": attempt.pk, "file": SimpleUploadedFile(name, content, "audio/wav")},
        format="multipart",
    )
    assert (response.status_code, response.json()) == (400, {"file": [UNSUPPORTED_AUDIO]})
    assert Recording.objects.count() == 0
    assert not (Path(settings.MEDIA_ROOT) / "recordings").exists()
    assert not AuditEntry.objects.filter(action__startswith="campaigns.recording").exists()


@pytest.mark.parametrize(
    ("name", "content", "stored_extension", "content_type"),
    [
        ("call.WAV", wav_bytes(), "wav", "audio/x-wav"),
        ("call.mp3", MP3_BYTES, "mp3", "audio/mpeg"),
        ("call.mp3", ID3_MP3_BYTES, "mp3", "audio/mpeg"),
        ("call.opus", OGG_BYTES, "ogg", "audio/ogg"),
        ("call.ogg", OGG_BYTES, "ogg", "audio/ogg"),
    ],
    ids=["wav-upper-case", "mp3", "mp3-id3", "opus", "ogg"],
)
def test_accepted_audio_is_stored_under_the_extension_of_its_format(
    dialler, attempt, name, content, stored_extension, content_type
):
    with time_machine.travel(NOW, tick=False):
        response = client_for(dialler.user).post(
            "/api/v1/recordings/",
            {"attempt": attempt.pk, "file": SimpleUploadedFile(name, content, "application/octet-stream")},
            format="multipart",
        )
    assert response.status_code == 201, response.json()
    recording = Recording.objects.get()
    checksum = hashlib.sha256(content).hexdigest()
    assert (
        recording.file.name == f"recordings/2026/03/attempt-{attempt.pk}-{checksum[:12]}.{stored_extension}"
    )
    played = client_for(UserFactory(username="eva", roles=["quality_evaluator"])).get(
        f"/api/v1/recordings/{recording.pk}/audio/"
    )
    assert (played.status_code, played["Content-Type"]) == (200, content_type)
    assert b"".join(played.streaming_content) == content


def test_playback_sends_the_sniffed_audio_type_and_headers_that_keep_it_inert(recording):
    response = client_for(UserFactory(username="eva", roles=["quality_evaluator"])).get(
        f"/api/v1/recordings/{recording.pk}/audio/"
    )
    assert response.status_code == 200
    assert {name: response[name] for name in PLAYBACK_HEADERS} == {
        "Content-Type": "audio/x-wav",
        "Content-Disposition": f'inline; filename="recording-{recording.pk}.wav"',
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox",
        "Cache-Control": "no-store",
    }
    assert b"".join(response.streaming_content) == wav_bytes()


def store_legacy_file(recording, extension: str, content: bytes) -> str:
    """A file stored before uploads were checked: under the extension the client chose."""
    name = f"recordings/2026/03/attempt-{recording.attempt_id}-legacy.{extension}"
    path = Path(settings.MEDIA_ROOT) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    Recording.objects.filter(pk=recording.pk).update(file=name)
    return name


@pytest.mark.parametrize("extension", ["html", "wav"])
def test_a_stored_file_that_is_not_audio_is_only_offered_as_a_download(recording, extension, caplog):
    """Found by fuzzing: a page stored before uploads were checked was played back as text/html,
    inline, to the evaluator, the manager and the admin. Whatever its name, a stored file that is
    not an accepted audio format is sent as bytes to save, never rendered."""
    name = store_legacy_file(recording, extension, PAGE_BYTES)
    listeners = [
        UserFactory(username="eva", roles=["quality_evaluator"]),
        UserFactory(username="mgr", roles=["campaign_manager"]),
        UserFactory(username="root", is_staff=True, is_superuser=True),
    ]
    for listener in listeners:
        response = client_for(listener).get(f"/api/v1/recordings/{recording.pk}/audio/")
        assert response.status_code == 200
        assert {header: response[header] for header in PLAYBACK_HEADERS} == {
            "Content-Type": "application/octet-stream",
            "Content-Disposition": f'attachment; filename="recording-{recording.pk}.bin"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
            "Cache-Control": "no-store",
        }
        assert b"".join(response.streaming_content) == PAGE_BYTES
    assert list(
        AuditEntry.objects.filter(action="campaigns.recording.played")
        .order_by("id")
        .values_list("actor_label", flat=True)
    ) == ["eva", "mgr", "root"]
    assert [
        r.getMessage() for r in caplog.records if r.levelname == "WARNING" and "legacy" in r.getMessage()
    ] == [f"recording {recording.pk}: {name} is not an accepted audio format; offered as a download"] * 3


@time_machine.travel(NOW, tick=False)
def test_notice_api_refuses_a_language_that_is_not_a_code_and_audio_that_is_not_audio():
    """Found by fuzzing: languages `fr/x` and `../..` became folders in the stored audio's name,
    and `notice.html` was kept as notice audio."""
    client = client_for(UserFactory(username="mgr", roles=["campaign_manager"]))
    notice = {
        "country": "FR",
        "language": "fr",
        "mode": "inform_object",
        "text": "Cet appel est enregistré.",
        "effective_from": "2026-01-01",
    }
    language_refused = {"language": ["Use an ISO 639 language code, optionally with a region: fr, nl-BE."]}
    for language in ("fr/x", "../.."):
        response = client.post(
            "/api/v1/recording-notices/",
            {**notice, "language": language, "audio": SimpleUploadedFile("n.wav", wav_bytes(), "audio/wav")},
            format="multipart",
        )
        assert (response.status_code, response.json()) == (400, language_refused)
    page = SimpleUploadedFile("notice.html", PAGE_BYTES, "audio/wav")
    response = client.post("/api/v1/recording-notices/", {**notice, "audio": page}, format="multipart")
    assert (response.status_code, response.json()) == (400, {"audio": [UNSUPPORTED_AUDIO]})
    assert RecordingNotice.objects.count() == 0

    created = client.post("/api/v1/recording-notices/", notice, format="multipart")
    assert created.status_code == 201, created.json()
    page = SimpleUploadedFile("notice.html", PAGE_BYTES, "audio/wav")
    response = client.post(
        f"/api/v1/recording-notices/{created.json()['id']}/new-version/", {"audio": page}, format="multipart"
    )
    assert (response.status_code, response.json()) == (400, {"audio": [UNSUPPORTED_AUDIO]})
    assert RecordingNotice.objects.count() == 1
    assert list(Path(settings.MEDIA_ROOT).rglob("*")) == []
