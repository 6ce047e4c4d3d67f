"""The audio formats a call recording or a recording notice may be stored in, recognised by their
first bytes.

Only what diallers' recorders write is accepted: WAV (Asterisk MixMonitor, FreeSWITCH, Amazon
Connect, Genesys), MP3 and Ogg Vorbis/Opus (VICIdial's compressed recordings, hosted PBXs such as
Twilio). A file's name and its declared content type are the client's choice and prove nothing:
a page named `call.wav` and sent as `audio/wav` was stored, then served inline from the app's own
origin, where its script ran (stored XSS). So the name's extension *and* the content must both be
one of these formats, the stored file gets the extension of the format found, and playback answers
with that format's content type, never one guessed from a name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.files.base import File

# Enough for the longest signature below (RIFF????WAVE).
HEAD_BYTES = 12


def _is_wav(head: bytes) -> bool:
    return head[:4] == b"RIFF" and head[8:12] == b"WAVE"


def _is_mp3(head: bytes) -> bool:
    if head[:3] == b"ID3":  # an ID3v2 tag before the first frame
        return True
    if len(head) < 3 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version, layer = (head[1] >> 3) & 0b11, (head[1] >> 1) & 0b11
    bitrate, sample_rate = head[2] >> 4, (head[2] >> 2) & 0b11
    # Layer III only (that is what MP3 is), and no reserved values: a bare 0xFFEx sync also
    # starts AAC (layer 00) and a UTF-16 byte order mark (FF FE) followed by text.
    return version != 0b01 and layer == 0b01 and bitrate not in (0b0000, 0b1111) and sample_rate != 0b11


def _is_ogg(head: bytes) -> bool:
    return head[:5] == b"OggS\x00"  # capture pattern, stream structure version 0 (RFC 3533)


@dataclass(frozen=True)
class AudioFormat:
    label: str
    extension: str  # the extension a stored file of this format gets
    extensions: frozenset[str]  # the extensions an upload of this format may carry
    content_type: str
    matches: Callable[[bytes], bool]


AUDIO_FORMATS = (
    # audio/x-wav, not audio/wav: what playback has always answered (Python's mimetypes).
    AudioFormat("WAV", "wav", frozenset({"wav"}), "audio/x-wav", _is_wav),
    AudioFormat("MP3", "mp3", frozenset({"mp3"}), "audio/mpeg", _is_mp3),
    AudioFormat("Ogg Vorbis/Opus", "ogg", frozenset({"ogg", "oga", "opus"}), "audio/ogg", _is_ogg),
)

ACCEPTED_AUDIO = ", ".join(
    f"{f.label} ({', '.join(f'.{e}' for e in sorted(f.extensions))})" for f in AUDIO_FORMATS
)
UNSUPPORTED_AUDIO = (
    f"Not a supported audio file. Accepted formats: {ACCEPTED_AUDIO}; "
    "the file name's extension and the content must be of the same format."
)


def sniff_audio_format(head: bytes) -> AudioFormat | None:
    """The format whose signature `head` (a file's first bytes) starts with, or None."""
    return next((f for f in AUDIO_FORMATS if f.matches(head)), None)


def read_head(file: File) -> bytes:
    """The first bytes of `file`, leaving it at its start for whoever reads it next."""
    file.seek(0)
    head = file.read(HEAD_BYTES)
    file.seek(0)
    return head


def accepted_audio_format(file: File, *, field: str) -> AudioFormat:
    """The format of an uploaded audio file; a ValidationError naming `field` when its name's
    extension or its content is not an accepted format, or when the two disagree."""
    name = (getattr(file, "name", "") or "").rsplit("/", 1)[-1]
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    found = sniff_audio_format(read_head(file))
    if found is None or extension not in found.extensions:
        raise ValidationError({field: ValidationError(UNSUPPORTED_AUDIO, code="unsupported_audio")})
    return found
