"""The HTTP answer that plays a stored recording, shared by the API and the admin so that both
send the same protections.

The file came from a dialler. Even typed as audio, a browser must never treat it as a page of this
origin: `nosniff` stops it guessing another type, `Content-Security-Policy: sandbox` gives whatever
it renders a unique opaque origin with no scripts, and a file that is none of the accepted audio
formats is only offered as an `application/octet-stream` download (`Playback.as_attachment`).
"""

from django.http import FileResponse

from campaigns.services.recordings import Playback


def playback_response(playback: Playback) -> FileResponse:
    response = FileResponse(
        playback.audio,
        content_type=playback.content_type,
        as_attachment=playback.as_attachment,
        filename=playback.filename,
    )
    response["Cache-Control"] = "no-store"  # a personal-data recording is never cached
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    return response
