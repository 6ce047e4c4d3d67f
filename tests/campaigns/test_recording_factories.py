"""Factories for notices, attempts and recordings (issue 7), shared by the notice, recording and
recordings-API tests. Named test_* only to sit within the recording tests' paths; no tests here."""

import datetime as dt
import io
import wave

import factory
from django.core.files.base import ContentFile

from campaigns.models import Attempt, CampaignRecordingPolicy, OutcomeCode, RecordingNotice
from tests.factories import CampaignFactory, FloorFactory, OutcomeCodeFactory, PhoneNumberFactory


class RecordingNoticeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RecordingNotice
        django_get_or_create = ["country", "language", "version"]

    country = "FR"
    language = "fr"
    version = 1
    mode = RecordingNotice.Mode.INFORM_OBJECT
    text = "Cet appel est enregistré à des fins de qualité. Vous pouvez vous y opposer à tout moment."
    effective_from = dt.date(2026, 1, 1)


class AttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Attempt

    campaign = factory.SubFactory(CampaignFactory)
    advertiser = factory.LazyAttribute(lambda o: o.campaign.advertiser)
    phone_number = factory.SubFactory(PhoneNumberFactory)
    prospect = factory.LazyAttribute(lambda o: o.phone_number.prospect)
    floor = factory.SubFactory(FloorFactory)
    outcome = factory.SubFactory(
        OutcomeCodeFactory,
        campaign=factory.SelfAttribute("..campaign"),
        category=OutcomeCode.Category.CONTACT,
        action=OutcomeCode.Action.FINAL,
    )
    started_at = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    answered_at = dt.datetime(2026, 3, 2, 9, 0, 5, tzinfo=dt.UTC)
    notice = factory.SubFactory(RecordingNoticeFactory)
    notice_played = True
    notice_answer = Attempt.NoticeAnswer.NO_ANSWER


class CampaignRecordingPolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CampaignRecordingPolicy

    campaign = factory.SubFactory(CampaignFactory)
    retention_days = 90


def wav_bytes(seconds: float = 0.5, rate: int = 8000) -> bytes:
    """A small silent mono 8 kHz WAV, like a dialler's G.711 export."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x00\x00" * int(seconds * rate))
    return buffer.getvalue()


def wav_file(name: str = "call.wav", seconds: float = 0.5) -> ContentFile:
    return ContentFile(wav_bytes(seconds), name=name)


# The first bytes of real files of the other accepted formats, padded: enough for the sniffing.
MP3_BYTES = b"\xff\xfb\x90\x64" + b"\x00" * 413  # MPEG-1 Layer III frame header, 128 kbit/s, 44.1 kHz
ID3_MP3_BYTES = b"ID3\x04\x00\x00\x00\x00\x00\x00" + MP3_BYTES  # an ID3v2.4 tag, then the frame
OGG_BYTES = b"OggS\x00\x02" + b"\x00" * 22 + b"\x13OpusHead"  # first page of an Ogg Opus stream
PAGE_BYTES = b"<html><body><script>fetch('/api/v1/recordings/')</script></body></html>"
