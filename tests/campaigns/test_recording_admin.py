"""Issue 7 in the admin: audited playback for the roles that need it, notice edits publish a new
version, the reports page, the purge action."""

import datetime as dt
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from campaigns.models import Attempt, Recording, RecordingNotice
from campaigns.services.recordings import attach_recording
from contacts.models import AuditEntry
from tests.campaigns.test_recording_factories import (
    AttemptFactory,
    RecordingNoticeFactory,
    wav_bytes,
    wav_file,
)
from tests.factories import AgentFactory, FloorFactory, UserFactory

pytestmark = pytest.mark.django_db
CALL = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
# The playback's no-store, with what the admin's never_cache adds to every admin page.
ADMIN_NO_STORE = "no-store, max-age=0, no-cache, must-revalidate, private"
PLAYBACK_HEADERS = (
    "Content-Type",
    "Content-Disposition",
    "X-Content-Type-Options",
    "Content-Security-Policy",
    "Cache-Control",
)


def staff_client(username: str, roles: list[str]) -> Client:
    client = Client()
    client.force_login(UserFactory(username=username, is_staff=True, roles=roles))
    return client


@pytest.fixture
def recording():
    return attach_recording(attempt=AttemptFactory(started_at=CALL), file=wav_file(), actor=None, now=CALL)


def test_admin_playback_is_audited_and_limited(recording):
    url = f"/admin/campaigns/recording/{recording.pk}/play/"
    agent_user = UserFactory(username="agent-1", is_staff=True, roles=["agent"])
    AgentFactory(user=agent_user, floor=recording.attempt.floor)
    agent = Client()
    agent.force_login(agent_user)
    assert agent.get(url).status_code == 403
    assert not AuditEntry.objects.filter(action="campaigns.recording.played").exists()

    response = staff_client("eva", ["quality_evaluator"]).get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == wav_bytes()
    entry = AuditEntry.objects.get(action="campaigns.recording.played")
    assert (entry.actor_label, entry.details["channel"]) == ("eva", "admin")


def test_admin_playback_after_purge_is_410(recording):
    Recording.objects.filter(pk=recording.pk).update(purged_at=CALL, file="", purge_reason="retention")
    response = staff_client("eva", ["quality_evaluator"]).get(
        f"/admin/campaigns/recording/{recording.pk}/play/"
    )
    assert response.status_code == 410
    assert not AuditEntry.objects.filter(action="campaigns.recording.played").exists()


def test_admin_playback_of_a_lost_file_is_a_404(recording):
    (Path(settings.MEDIA_ROOT) / recording.file.name).unlink()
    response = staff_client("eva", ["quality_evaluator"]).get(
        f"/admin/campaigns/recording/{recording.pk}/play/"
    )
    assert (response.status_code, response.content.decode()) == (
        404,
        f"The audio of recording {recording.pk} is missing from storage; it was not purged.",
    )
    assert not AuditEntry.objects.filter(action="campaigns.recording.played").exists()


def test_admin_changelist_lists_recordings_for_the_evaluator(recording):
    response = staff_client("eva", ["quality_evaluator"]).get("/admin/campaigns/recording/")
    assert response.status_code == 200
    assert f"/admin/campaigns/recording/{recording.pk}/play/" in response.content.decode()


def test_editing_a_notice_in_the_admin_publishes_a_new_version():
    notice = RecordingNoticeFactory()
    attempt = AttemptFactory(notice=notice, started_at=CALL)
    client = staff_client("mgr", ["campaign_manager"])
    response = client.post(
        f"/admin/campaigns/recordingnotice/{notice.pk}/change/",
        {
            "mode": "inform_object",
            "text": "Cet appel est enregistré pendant 3 mois. Vous pouvez vous y opposer.",
            "effective_from": "2026-06-01",
            "effective_to": "",
            "active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    versions = list(RecordingNotice.objects.filter(country="FR", language="fr").order_by("version"))
    assert [(n.version, n.effective_from, n.effective_to) for n in versions] == [
        (1, dt.date(2026, 1, 1), dt.date(2026, 5, 31)),
        (2, dt.date(2026, 6, 1), None),
    ]
    assert versions[0].text == RecordingNoticeFactory._meta.declarations["text"]
    attempt.refresh_from_db()
    assert attempt.notice_id == notice.pk


def test_reports_page_for_managers_only():
    AttemptFactory(started_at=CALL, notice_played=False, notice_answer="")
    AttemptFactory(started_at=CALL, notice_answer=Attempt.NoticeAnswer.CONSENTED)
    response = staff_client("mgr", ["campaign_manager"]).get("/admin/campaigns/recording/reports/")
    assert response.status_code == 200
    assert [row["non_compliant"] for row in response.context["notices_played"]] == [1, 0]
    assert len(response.context["non_compliant"]) == 1
    assert (
        staff_client("eva", ["quality_evaluator"]).get("/admin/campaigns/recording/reports/").status_code
        == 403
    )


def test_purge_action(recording):
    floor_manager = staff_client("mgr", ["campaign_manager"])
    response = floor_manager.post(
        "/admin/campaigns/recording/",
        {"action": "purge_now", "_selected_action": [recording.pk]},
    )
    assert response.status_code == 302
    recording.refresh_from_db()
    assert (recording.purge_reason, recording.file.name) == ("manual", "")
    assert AuditEntry.objects.get(action="campaigns.recording.purged").actor_label == "mgr"


def test_supervisor_sees_no_other_floor_recording(recording):
    other = FloorFactory(code="tunis")
    sup = UserFactory(username="sup", is_staff=True, roles=["floor_supervisor"])
    AgentFactory(user=sup, floor=other, is_supervisor=True)
    client = Client()
    client.force_login(sup)
    # No view_recording for supervisors at all: the page is refused
    assert client.get("/admin/campaigns/recording/").status_code == 403


PAGE = b"<html><script>fetch('/admin/auth/user/')</script></html>"


def test_admin_playback_sends_the_sniffed_audio_type_and_headers_that_keep_it_inert(recording):
    response = staff_client("eva", ["quality_evaluator"]).get(
        f"/admin/campaigns/recording/{recording.pk}/play/"
    )
    assert response.status_code == 200
    assert {name: response[name] for name in PLAYBACK_HEADERS} == {
        "Content-Type": "audio/x-wav",
        "Content-Disposition": f'inline; filename="recording-{recording.pk}.wav"',
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox",
        "Cache-Control": ADMIN_NO_STORE,
    }


def test_admin_offers_a_stored_page_only_as_a_download(recording):
    """Found by fuzzing: the admin's playback served a stored `.html` upload as text/html."""
    name = f"recordings/2026/03/attempt-{recording.attempt_id}-legacy.html"
    (Path(settings.MEDIA_ROOT) / name).write_bytes(PAGE)
    Recording.objects.filter(pk=recording.pk).update(file=name)
    root = Client()
    root.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    response = root.get(f"/admin/campaigns/recording/{recording.pk}/play/")
    assert response.status_code == 200
    assert {header: response[header] for header in PLAYBACK_HEADERS} == {
        "Content-Type": "application/octet-stream",
        "Content-Disposition": f'attachment; filename="recording-{recording.pk}.bin"',
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox",
        "Cache-Control": ADMIN_NO_STORE,
    }
    assert b"".join(response.streaming_content) == PAGE
    assert AuditEntry.objects.get(action="campaigns.recording.played").actor_label == "root"


def test_admin_refuses_a_notice_language_that_is_not_a_code_and_audio_that_is_not_audio_on_their_fields():
    client = staff_client("mgr", ["campaign_manager"])
    response = client.post(
        "/admin/campaigns/recordingnotice/add/",
        {
            "country": "FR",
            "language": "../..",
            "mode": "inform_object",
            "text": "Cet appel est enregistré.",
            "audio": SimpleUploadedFile("notice.html", PAGE, "audio/wav"),
            "effective_from": "2026-01-01",
            "active": "on",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "language": ["Use an ISO 639 language code, optionally with a region: fr, nl-BE."],
        "audio": [
            "Not a supported audio file. Accepted formats: WAV (.wav), MP3 (.mp3), Ogg Vorbis/Opus "
            "(.oga, .ogg, .opus); the file name's extension and the content must be of the same format."
        ],
    }
    notice = RecordingNoticeFactory()
    response = client.post(
        f"/admin/campaigns/recordingnotice/{notice.pk}/change/",
        {
            "mode": "inform_object",
            "text": notice.text,
            "audio": SimpleUploadedFile("notice.html", PAGE, "audio/wav"),
            "effective_from": "2026-06-01",
            "active": "on",
        },
    )
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["audio"]
    assert list(RecordingNotice.objects.values_list("pk", flat=True)) == [notice.pk]
    assert list(Path(settings.MEDIA_ROOT).rglob("*")) == []
