"""JSON text from clients, decoded so that what nothing downstream can handle is refused with a
message instead of ending in a 500 (each was found by fuzzing):

- a `\\ud800`-style escape without its partner decodes to a lone UTF-16 surrogate: valid JSON
  syntax, but not a character. Python keeps it in the string, then nothing can write it: the
  database driver and the answer that echoes it both raised UnicodeEncodeError;
- nesting deeper than the interpreter's recursion limit (about a thousand levels) makes the
  standard library's decoder raise RecursionError, which neither DRF nor Django's forms catch;
- NaN and Infinity are not JSON, and a number too large for a float (`1e999`) decodes to infinity:
  PostgreSQL's jsonb refuses them when the value is saved;
- a `\\u0000` escape decodes to a NUL character, which PostgreSQL's jsonb refuses too.

JSON typed into a form field is decoded by `ClientJSONDecoder`, the decoder of every model JSON
field people edit (config.fields): Django's form JSONField, in the admin, and DRF's JSONField, for
form bodies, both decode with the model field's decoder and turn its JSONDecodeError into their
field's "not valid JSON" error. A whole request body (`loads_client_json`, api/parsers.py) refuses
only nesting, surrogates and NaN: a NUL or a number past a float is left to the field that reads
it, so that it rejects one item of a dialler's batch, not the batch.
"""

import json
import re

import orjson

LONE_SURROGATE = "a lone UTF-16 surrogate escape (\\ud800–\\udfff without its pair) is not a character"
NUL = "a NUL character (\\u0000) cannot be stored"

# An escape of a surrogate code point (U+D800–U+DFFF) or of NUL. In text decoded from a text
# charset, a surrogate can only come from such an escape (and a raw NUL is invalid JSON), so a text
# without one is not checked further.
_CHECKED_ESCAPE = re.compile(r"\\u([dD][89abcdefABCDEF]|0000)")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")


class ClientJSONError(json.JSONDecodeError):
    """Valid syntax that is refused anyway. Its text is the reason alone: the place of a surrogate
    is its path in the value, and nesting has none."""

    def __init__(self, msg: str, doc: str):
        super().__init__(msg, doc, 0)
        self.args = (msg,)


def _refuse_constant(name: str):
    raise ClientJSONError(f"Out of range float values are not JSON compliant: {name!r}", "")  # DRF's words


class ClientJSONDecoder(json.JSONDecoder):
    """`json.loads(text, cls=ClientJSONDecoder)`, for a value typed into a form field: refuses
    runaway nesting, lone surrogates, NULs, numbers past a float and (unless `parse_constant` is
    given) NaN and Infinity, each as a JSONDecodeError."""

    refuse_nul = True

    def __init__(self, **kwargs):
        kwargs.setdefault("parse_constant", _refuse_constant)
        if self.refuse_nul:
            kwargs.setdefault("parse_float", _finite_float)
        super().__init__(**kwargs)

    def decode(self, s, _w=None):
        try:
            value = super().decode(s)
            # The walk is recursive too: inside the nesting guard.
            escape = _CHECKED_ESCAPE if self.refuse_nul else _SURROGATE_ESCAPE
            found = unstorable_string_at(value, nul=self.refuse_nul) if escape.search(s) is not None else None
        except RecursionError:
            raise ClientJSONError("nested too deeply", s) from None
        if found is not None:
            where, problem = found
            raise ClientJSONError(f"{where}: {problem}", s)
        return value


class _BodyDecoder(ClientJSONDecoder):
    """For a whole request body: a NUL or a number past a float is left to the field that reads
    it, which refuses it alone (DRF's CharField refuses NUL, its IntegerField infinity), so that
    one bad result of a dialler's batch does not reject the others. A lone surrogate cannot be
    echoed in that field's error, and runaway nesting cannot be read at all: those stay the
    body's."""

    refuse_nul = False


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (_INFINITY, -_INFINITY):
        raise ClientJSONError(f"{text} is out of the range of a number", "")
    return value


_INFINITY = float("inf")


def loads_client_json(text: str, *, strict: bool = True):
    """JSON text from a client, decoded as DRF's parser does (NaN and Infinity refused unless not
    `strict`). Raises json.JSONDecodeError for invalid JSON, and its subclass ClientJSONError for
    runaway nesting, lone surrogates and refused constants."""
    if strict:
        return json.loads(text, cls=_BodyDecoder)
    return json.loads(text, cls=_BodyDecoder, parse_constant=float)  # float("-Infinity") is -inf


def unstorable_string_at(value, *, nul: bool = True) -> tuple[str, str] | None:
    """(where, what) for the first string (key or value) of parsed JSON `value` that holds a lone
    surrogate or (if `nul`) a NUL: where is `results[0].call_id`, or `(the value)` for a bare
    string; None if there is none."""
    try:
        # orjson refuses a lone surrogate in C, an order of magnitude faster than walking. It also
        # refuses integers beyond 64 bits and nesting beyond 254 levels: those take the walk.
        written = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
        if not nul or b"\\u0000" not in written:
            return None
    except TypeError:
        pass
    path = _walk(value, nul)
    if path is None:
        return None
    *path, problem = path
    if not path:
        return "(the value)", problem
    text = "".join(f"[{part}]" if type(part) is int else f".{part}" for part in path).lstrip(".")
    # Written as escapes, so that the message can be shown and stored.
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\u0000"), problem


def _walk(value, nul: bool) -> list | None:
    """The path (keys and indexes, innermost last) to the first unstorable string, a key being
    marked by a trailing " (the key)", then what is wrong with it; None if none. The path is built
    only on the way out."""
    if isinstance(value, str):
        problem = _problem(value, nul)
        return None if problem is None else [problem]
    if isinstance(value, dict):
        for key, item in value.items():
            problem = _problem(key, nul) if isinstance(key, str) else None
            if problem is not None:
                return [f"{key} (the key)", problem]
            found = _walk(item, nul)
            if found is not None:
                return [key, *found]
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _walk(item, nul)
            if found is not None:
                return [index, *found]
    return None


def _problem(text: str, nul: bool) -> str | None:
    if nul and "\x00" in text:
        return NUL
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return LONE_SURROGATE
    return None
