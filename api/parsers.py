"""The API's JSON parser: DRF's, plus the two bodies it lets through to a 500.

- A `\\ud800`-style escape with no partner decodes to a lone UTF-16 surrogate: valid JSON syntax,
  but not a character. Python keeps it in the string, then nothing can write it: the database
  driver (a result's `call_id`) and the error answer that echoes it (`"\\ud800" is not a valid
  choice`) both raised UnicodeEncodeError (found by fuzzing every operation with schemathesis).
- A body nested a few thousand levels deep makes the standard library's decoder raise
  RecursionError, which DRF does not catch.

Both now answer 400 with `JSON parse error - …`, naming where the string is for the first.
"""

import codecs
import re

from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json

# An escape of a surrogate code point (U+D800–U+DFFF). A body without one cannot hold a lone
# surrogate (raw UTF-8 cannot encode one: the decoder refuses it), so only such bodies are walked.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")
LONE_SURROGATE = "a lone UTF-16 surrogate escape (\\ud800–\\udfff without its pair) is not a character"


def lone_surrogate_at(value, path: str = "") -> str | None:
    """Where in parsed JSON `value` the first string (key or value) holding a lone surrogate is:
    `results[0].call_id`, `(the body)` for a bare string; None if there is none."""
    if isinstance(value, str):
        return None if _encodable(value) else (path or "(the body)")
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{_printable(key)}" if path else _printable(key)
            if not _encodable(key):
                return f"{where} (the key)"
            found = lone_surrogate_at(item, where)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = lone_surrogate_at(item, f"{path}[{index}]")
            if found:
                return found
    return None


def refuse_lone_surrogates(text: str, value) -> None:
    """Raise ParseError if `value`, decoded from JSON `text`, holds a lone surrogate."""
    if _SURROGATE_ESCAPE.search(text) is None:
        return
    where = lone_surrogate_at(value)
    if where is not None:
        raise ParseError(f"JSON parse error - {where}: {LONE_SURROGATE}.")


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _printable(key: str) -> str:
    return key.encode("utf-8", "backslashreplace").decode("utf-8")


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        try:
            text = codecs.getreader(encoding)(stream).read()
            data = json.loads(text, parse_constant=json.strict_constant if self.strict else None)
        except ValueError as exc:  # invalid JSON, or bytes that are not `encoding`
            raise ParseError(f"JSON parse error - {exc}") from None
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None
        refuse_lone_surrogates(text, data)
        return data
