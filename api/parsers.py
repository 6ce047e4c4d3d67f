"""The API's parsers: DRF's, plus what it lets through to a 500 (found by fuzzing every operation
with schemathesis).

- JSON bodies are decoded by `config.client_json`: a lone UTF-16 surrogate escape, runaway nesting
  and NaN answer 400 with a message that says what, and for a surrogate where (`results[0].call_id`).
- A charset such as `unicode_escape` or `utf-7` in the Content-Type decodes plain bytes into lone
  surrogates, in JSON, form and multipart bodies alike: only text charsets are read.
"""

import codecs
import re

from rest_framework import parsers
from rest_framework.exceptions import ParseError

from config.client_json import loads_client_json

# What a client may declare: Unicode and the single-byte text charsets. Their decoders cannot make a
# surrogate out of bytes (utf-7 and the *_escape codecs can, bytes-to-bytes codecs are not text).
_TEXT_CHARSET = re.compile(r"utf-(8|8-sig|16|16-le|16-be|32|32-le|32-be)|ascii|iso8859-\d+|cp125\d|koi8-[ru]")


def text_encoding(parser_context) -> str:
    """The request's declared charset (DRF's choice), refused unless it is a text charset."""
    encoding = parsers.get_encoding(parser_context or {})
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        name = ""
    if not _TEXT_CHARSET.fullmatch(name):
        raise ParseError(f'Unsupported charset "{encoding}" in request Content-Type header.')  # DRF's words
    return encoding


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = text_encoding(parser_context)
        try:  # ValueError: bytes that are not `encoding`, or text that is not JSON for us
            return loads_client_json(codecs.getreader(encoding)(stream).read(), strict=self.strict)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        text_encoding(parser_context)
        return super().parse(stream, media_type, parser_context)


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        text_encoding(parser_context)
        return super().parse(stream, media_type, parser_context)
