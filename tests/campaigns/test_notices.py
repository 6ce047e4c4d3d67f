"""Issue 7: notice resolution per country and language, versioning, proof fields, country rules."""

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile

from campaigns.models import Attempt, RecordingNotice
from campaigns.selectors.notices import country_recording_rule, resolve_notice, resolve_notices
from campaigns.services.notices import change_notice, notice_proof_fields, publish_notice, retire_notice
from contacts.models import AuditEntry
from tests.campaigns.test_recording_factories import AttemptFactory, RecordingNoticeFactory, wav_bytes
from tests.factories import CampaignFactory, ProspectFactory

pytestmark = pytest.mark.django_db
BRUSSELS = ZoneInfo("Europe/Brussels")
AT = dt.datetime(2026, 3, 2, 10, 0, tzinfo=BRUSSELS)
DAY = dt.date(2026, 1, 1)


@pytest.fixture
def belgian_notices():
    return {
        "fr": publish_notice(
            country="BE",
            language="fr",
            mode="inform_object",
            text="Cet appel est enregistré.",
            effective_from=DAY,
            actor=None,
            now=AT,
        ),
        "nl": publish_notice(
            country="BE",
            language="nl",
            mode="inform_object",
            text="Dit gesprek wordt opgenomen.",
            effective_from=DAY,
            actor=None,
            now=AT,
        ),
    }


def test_notice_follows_the_callee_language(belgian_notices):
    campaign = CampaignFactory(countries=["BE"], languages=["fr"])
    assert (
        resolve_notice(campaign=campaign, prospect=ProspectFactory(country="BE", language="nl"), at=AT)
        == (belgian_notices["nl"])
    )
    assert (
        resolve_notice(campaign=campaign, prospect=ProspectFactory(country="BE", language="fr"), at=AT)
        == (belgian_notices["fr"])
    )


def test_regional_language_tag_falls_back_to_its_primary_language(belgian_notices):
    campaign = CampaignFactory(countries=["BE"], languages=[])
    prospect = ProspectFactory(country="BE", language="nl-BE")
    assert resolve_notice(campaign=campaign, prospect=prospect, at=AT) == belgian_notices["nl"]


def test_unknown_language_falls_back_to_the_campaign_languages(belgian_notices):
    campaign = CampaignFactory(countries=["BE"], languages=["nl", "fr"])
    prospect = ProspectFactory(country="BE", language="en")
    assert resolve_notice(campaign=campaign, prospect=prospect, at=AT) == belgian_notices["nl"]


def test_then_the_country_default_language(belgian_notices):
    campaign = CampaignFactory(countries=["BE"], languages=["en"])
    prospect = ProspectFactory(country="BE", language="en")
    assert resolve_notice(campaign=campaign, prospect=prospect, at=AT) == belgian_notices["fr"]


def test_then_the_first_active_notice_of_the_country():
    only = RecordingNoticeFactory(country="IT", language="it", text="Questa chiamata è registrata.")
    campaign = CampaignFactory(countries=["IT"], languages=["en"])
    prospect = ProspectFactory(country="IT", language="en")
    assert resolve_notice(campaign=campaign, prospect=prospect, at=AT) == only
    # Another country's notice in the callee's language is never played
    RecordingNoticeFactory(country="GB", language="en", text="This call is recorded.")
    assert resolve_notice(campaign=campaign, prospect=prospect, at=AT) == only


def test_no_notice_in_force_resolves_to_none():
    RecordingNoticeFactory(country="ES", language="es", effective_from=dt.date(2026, 4, 1), text="Grabamos.")
    RecordingNoticeFactory(country="ES", language="es", version=2, active=False, text="Grabamos v2.")
    campaign = CampaignFactory(countries=["ES"], languages=["es"])
    assert (
        resolve_notice(campaign=campaign, prospect=ProspectFactory(country="ES", language="es"), at=AT)
        is None
    )


def test_effective_dates_are_days_of_the_callee_country():
    v1 = RecordingNoticeFactory(
        country="PT", language="pt", text="v1", effective_from=DAY, effective_to=dt.date(2026, 3, 31)
    )
    v2 = RecordingNoticeFactory(
        country="PT", language="pt", version=2, text="v2", effective_from=dt.date(2026, 4, 1)
    )
    campaign = CampaignFactory(countries=["PT"], languages=["pt"])
    prospect = ProspectFactory(country="PT", language="pt")
    lisbon = ZoneInfo("Europe/Lisbon")
    # 2026-03-31 23:30 in Lisbon is already 2026-04-01 in Paris: Lisbon's day decides.
    assert (
        resolve_notice(
            campaign=campaign, prospect=prospect, at=dt.datetime(2026, 3, 31, 23, 30, tzinfo=lisbon)
        )
        == v1
    )
    assert (
        resolve_notice(campaign=campaign, prospect=prospect, at=dt.datetime(2026, 4, 1, 0, 0, tzinfo=lisbon))
        == v2
    )


def test_batch_resolution_uses_one_query(belgian_notices, django_assert_num_queries):
    campaign = CampaignFactory(countries=["BE", "FR"], languages=["fr"])
    prospects = [
        ProspectFactory(country="BE", language="nl"),
        ProspectFactory(country="BE", language="fr"),
        ProspectFactory(country="FR", language="fr"),
    ]
    with django_assert_num_queries(1):
        resolved = resolve_notices(campaign=campaign, prospects=prospects, at=AT)
    assert resolved == {
        prospects[0].pk: belgian_notices["nl"],
        prospects[1].pk: belgian_notices["fr"],
        prospects[2].pk: None,
    }


def test_a_change_creates_a_new_version_and_old_attempts_keep_theirs(belgian_notices):
    old = belgian_notices["fr"]
    attempt = AttemptFactory(notice=old)
    changed_at = dt.datetime(2026, 5, 4, 9, 0, tzinfo=BRUSSELS)
    new = change_notice(
        notice=old, text="Cet appel est enregistré pendant 6 mois.", actor=None, now=changed_at
    )
    assert (new.version, new.pk != old.pk, new.effective_from, new.effective_to) == (
        2,
        True,
        dt.date(2026, 5, 4),
        None,
    )
    old.refresh_from_db()
    assert (old.text, old.effective_to, old.active) == (
        "Cet appel est enregistré.",
        dt.date(2026, 5, 3),
        True,
    )
    attempt.refresh_from_db()
    assert attempt.notice_id == old.pk
    campaign = CampaignFactory(countries=["BE"], languages=["fr"])
    prospect = ProspectFactory(country="BE", language="fr")
    assert resolve_notice(campaign=campaign, prospect=prospect, at=AT) == old
    assert resolve_notice(campaign=campaign, prospect=prospect, at=changed_at) == new
    assert list(
        AuditEntry.objects.filter(action="campaigns.notice.published", target_id=str(new.pk)).values_list(
            "details", flat=True
        )
    ) == [
        {
            "country": "BE",
            "language": "fr",
            "version": 2,
            "mode": "inform_object",
            "effective_from": "2026-05-04",
            "closed_versions": [1],
        }
    ]


def test_country_and_language_cannot_be_changed(belgian_notices):
    with pytest.raises(ValidationError) as error:
        change_notice(notice=belgian_notices["fr"], language="nl", actor=None, now=AT)
    assert error.value.message_dict == {
        "language": ["This field cannot be changed; publish a separate notice."]
    }
    assert RecordingNotice.objects.filter(country="BE").count() == 2


def test_publish_validates_its_input():
    with pytest.raises(ValidationError) as error:
        publish_notice(
            country="France",
            language="fr",
            mode="record_anyway",
            text=" ",
            effective_from=DAY,
            effective_to=dt.date(2025, 1, 1),
            actor=None,
            now=AT,
        )
    assert set(error.value.message_dict) == {"country", "mode", "text", "effective_to"}
    assert RecordingNotice.objects.count() == 0


def test_retired_notice_is_no_longer_resolved(belgian_notices):
    retire_notice(notice=belgian_notices["nl"], actor=None, now=AT)
    campaign = CampaignFactory(countries=["BE"], languages=[])
    prospect = ProspectFactory(country="BE", language="nl")
    assert resolve_notice(campaign=campaign, prospect=prospect, at=AT) == belgian_notices["fr"]


def test_country_rules_come_from_the_country_policies():
    de = country_recording_rule(country="DE", at=AT)
    assert (de.mode, de.retention_days, de.source) == ("ask_consent", 180, "country_policy")
    assert country_recording_rule(country="PT", at=AT).retention_days == 30
    assert country_recording_rule(country="FR", at=AT).retention_days == 180
    assert country_recording_rule(country="NL", at=AT).mode == "inform_object"


def test_a_new_country_policy_period_changes_the_retention():
    from campaigns.models import CountryPolicy

    current = CountryPolicy.objects.filter(country="PT").order_by("-effective_from").first()
    current.effective_to = dt.date(2026, 6, 30)
    current.save(update_fields=["effective_to"])
    current.pk = None
    current.effective_from, current.effective_to = dt.date(2026, 7, 1), None
    current.recording_retention_days = 20
    current.save()
    assert country_recording_rule(country="PT", at=AT).retention_days == 30
    july = dt.datetime(2026, 7, 1, 9, 0, tzinfo=ZoneInfo("Europe/Lisbon"))
    assert country_recording_rule(country="PT", at=july).retention_days == 20


def test_country_without_policy_falls_back_to_inform_and_six_months():
    rule = country_recording_rule(country="GB", at=AT)
    assert (rule.mode, rule.retention_days, rule.source) == ("inform_object", 180, "fallback")


def test_notice_proof_fields(belgian_notices):
    notice = belgian_notices["fr"]
    assert notice_proof_fields(notice=notice, played=True, answer="objected") == {
        "notice": notice,
        "notice_played": True,
        "notice_answer": "objected",
    }
    with pytest.raises(ValidationError) as error:
        notice_proof_fields(notice=notice, played=False, answer="consented")
    assert error.value.message_dict == {
        "notice_answer": ["An answer to the notice needs notice_played=true."]
    }
    with pytest.raises(ValidationError):
        notice_proof_fields(notice=notice, played=True, answer="maybe")
    with pytest.raises(ValidationError):
        notice_proof_fields(notice=None, played=True, answer="")
    assert Attempt.NoticeAnswer.CONSENTED == "consented"


LANGUAGE_MESSAGE = "Use an ISO 639 language code, optionally with a region: fr, nl-BE."
UNSUPPORTED_AUDIO = (
    "Not a supported audio file. Accepted formats: WAV (.wav), MP3 (.mp3), "
    "Ogg Vorbis/Opus (.oga, .ogg, .opus); the file name's extension and the content must be of "
    "the same format."
)


def publish(**overrides) -> RecordingNotice:
    fields = {
        "country": "FR",
        "language": "fr",
        "mode": "inform_object",
        "text": "Cet appel est enregistré.",
        "effective_from": DAY,
        "actor": None,
        "now": AT,
        **overrides,
    }
    return publish_notice(**fields)


@pytest.mark.parametrize(
    "language", ["fr/x", "../..", "fr\\x", "", "f", "fr_BE", "fr-BE-x", "fr\n", "français"]
)
def test_notice_language_must_be_a_language_code(language):
    """Found by fuzzing: `fr/x` and `../..` were accepted and became folders in the name of the
    stored notice audio."""
    with pytest.raises(ValidationError) as refused:
        publish(language=language, audio=ContentFile(wav_bytes(), name="notice.wav"))
    assert refused.value.message_dict == {"language": [LANGUAGE_MESSAGE]}
    assert RecordingNotice.objects.count() == 0
    assert list(Path(settings.MEDIA_ROOT).rglob("*")) == []


@pytest.mark.parametrize(("language", "stored"), [("fr", "fr"), ("nl-BE", "nl-be"), ("GSW", "gsw")])
def test_language_codes_with_or_without_a_region_are_accepted(language, stored):
    assert publish(language=language).language == stored


def test_notice_audio_is_accepted_audio_stored_under_a_name_of_ours():
    notice = publish(country="BE", language="fr", audio=ContentFile(wav_bytes(), name="../Annonce FR.WAV"))
    assert notice.audio.name == "notices/be-fr-v1.wav"
    assert (Path(settings.MEDIA_ROOT) / "notices/be-fr-v1.wav").read_bytes() == wav_bytes()


@pytest.mark.parametrize(
    ("name", "content"),
    [("notice.html", b"<script>alert(1)</script>"), ("notice.wav", b"<script>alert(1)</script>")],
    ids=["page", "page-named-wav"],
)
def test_notice_audio_that_is_not_accepted_audio_is_refused_naming_the_field(name, content):
    """Found by fuzzing: `notice.html` was stored as notice audio under its own extension."""
    with pytest.raises(ValidationError) as refused:
        publish(audio=ContentFile(content, name=name))
    assert refused.value.message_dict == {"audio": [UNSUPPORTED_AUDIO]}
    notice = publish()
    with pytest.raises(ValidationError) as refused_change:
        change_notice(notice=notice, audio=ContentFile(content, name=name), actor=None, now=AT)
    assert refused_change.value.message_dict == {"audio": [UNSUPPORTED_AUDIO]}
    assert list(RecordingNotice.objects.values_list("version", flat=True)) == [1]
    assert list(Path(settings.MEDIA_ROOT).rglob("*")) == []
