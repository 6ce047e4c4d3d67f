"""The API's parsers: DRF's, plus what it lets through to a 500.

- A `\\ud800`-style escape with no partner decodes to a lone UTF-16 surrogate: valid JSON syntax,
  but not a character. Python keeps it in the string, then nothing can write it: the database
  driver (a result's `call_id`) and the error answer that echoes it (`"\\ud800" is not a valid
  choice`) both raised UnicodeEncodeError (found by fuzzing every operation with schemathesis).
- A charset such as `unicode_escape` or `utf-7` in the Content-Type decodes plain bytes into such
  surrogates, in JSON, form and multipart bodies alike: only text charsets are read.
- A body nested deeper than the interpreter's recursion limit (about a thousand levels) makes the
  standard library's decoder raise RecursionError, which DRF does not catch.

Each now answers 400 with a message that says what, and for a surrogate where.
"""

import codecs
import re

import orjson
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json

LONE_SURROGATE = "a lone UTF-16 surrogate escape (\\ud800–\\udfff without its pair) is not a character"

# An escape of a surrogate code point (U+D800–U+DFFF). In text decoded from a text charset, a
# surrogate can only come from such an escape, so a body without one is not checked further.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")

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


def lone_surrogate_at(value) -> str | None:
    """Where in parsed JSON `value` the first string (key or value) holding a lone surrogate is:
    `results[0].call_id`, `(the value)` for a bare string; None if there is none."""
    try:
        # orjson refuses a lone surrogate in C, an order of magnitude faster than walking. It also
        # refuses integers beyond 64 bits and nesting beyond 254 levels: those take the walk.
        orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
        return None
    except TypeError:
        pass
    path = _walk(value)
    if path is None:
        return None
    if not path:
        return "(the value)"
    text = "".join(f"[{part}]" if type(part) is int else f".{part}" for part in path).lstrip(".")
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _walk(value) -> list | None:
    """The path (keys and indexes, innermost last) to the first unencodable string, a key being
    marked by a trailing " (the key)"; None if none. The path is built only on the way out."""
    if isinstance(value, str):
        return None if _encodable(value) else []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and not _encodable(key):
                return [f"{key} (the key)"]
            found = _walk(item)
            if found is not None:
                return [key, *found]
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _walk(item)
            if found is not None:
                return [index, *found]
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def loads_client_json(text: str, *, strict: bool = True):
    """JSON text from a client, decoded as DRF's parser does (NaN and Infinity refused unless not
    `strict`). Raises ValueError with a message for invalid JSON, runaway nesting and lone
    surrogates."""
    try:
        value = json.loads(text) if strict else json.loads(text, parse_constant=None)
        if _SURROGATE_ESCAPE.search(text) is not None:
            where = lone_surrogate_at(value)  # a recursive walk: inside the nesting guard
            if where is not None:
                raise ValueError(f"{where}: {LONE_SURROGATE}")
    except RecursionError:
        raise ValueError("nested too deeply") from None
    return value


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
