"""Issue 7 demo: notices in the 7 countries' languages, recordings with different purge dates."""

import datetime as dt

import pytest

from campaigns.demo.recordings import load_recordings
from campaigns.models import Recording, RecordingNotice

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def test_demo_is_idempotent_and_shows_the_retention_differences():
    messages: list[str] = []
    load_recordings(now=NOW, log=messages.append)
    load_recordings(now=NOW, log=messages.append)
    assert sorted(RecordingNotice.objects.values_list("country", "language", "mode")) == [
        ("BE", "fr", "inform_object"),
        ("BE", "nl", "inform_object"),
        ("DE", "de", "ask_consent"),
        ("ES", "es", "inform_object"),
        ("FR", "fr", "inform_object"),
        ("IT", "it", "inform_object"),
        ("NL", "nl", "inform_object"),
        ("PT", "pt", "inform_object"),
    ]
    retention = {
        r.attempt.call_id: (r.purge_after - r.attempt.started_at).days
        for r in Recording.objects.select_related("attempt")
    }
    assert retention == {
        "demo-rec-fr-1": 90,  # the campaign's choice, within CNIL's 180
        "demo-rec-fr-2": 90,
        "demo-rec-pt-1": 30,  # CNPD
        "demo-rec-pt-2": 30,
        "demo-rec-de-1": 90,  # recorded only after a yes
    }
    assert messages[1].startswith(
        "Recordings: 8 notices (0 new) in FR, BE, NL, DE, IT, ES, PT; 0 new demo recordings"
    )
    assert Recording.objects.filter(purge_after__lt=NOW + dt.timedelta(days=7)).count() == 2
