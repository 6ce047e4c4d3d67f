"""JSON responses written by orjson: what DRF's JSONRenderer writes, byte for byte but for two cases.

A dialler's lease answer is up to 500 items; the standard library's encoder took ~9 % of a lease
request's Python time on the lease bench (~1 ms per 100 items); orjson takes a quarter of that.
Every type the standard encoder meets natively is one orjson writes the same way; the rest
(datetimes, dates, times, decimals, lazy translations, querysets, sets…) go through DRF's own
encoder's `default`, so their text is DRF's. Anything orjson refuses (an integer beyond 64 bits)
and an indent asked by the browsable API are rendered by DRF's renderer itself.

Two deliberate differences, both found only by scanning the whole answer again (~0.3–0.6 ms per
100 leads, five to ten times the encoding):
- a float small enough to be written with an exponent is written 2.5e-9 where json.dumps writes
  2.5e-09: the same number to any JSON reader;
- a NaN or infinite float, which DRF refuses with an exception (a 500), is written as null; no API
  value is computed so.
tests/api/test_renderers.py compares the two on every kind of value.
"""

import datetime

import orjson
from rest_framework import renderers
from rest_framework.utils.encoders import JSONEncoder

_OPTIONS = (
    orjson.OPT_NON_STR_KEYS  # {1: …} as {"1": …}, like json.dumps
    | orjson.OPT_PASSTHROUGH_DATETIME  # DRF's text for datetimes, dates and times
    | orjson.OPT_PASSTHROUGH_DATACLASS  # json.dumps does not write dataclasses: neither do we
)
_drf_default = JSONEncoder().default


def _default(value):
    # DRF's text for a datetime (its encoder's first branch is a lazy-string check): a lease
    # answer has one or two per lead.
    if type(value) is datetime.datetime:
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    return _drf_default(value)


_LINE_SEPARATOR, _PARAGRAPH_SEPARATOR = "\u2028".encode(), "\u2029".encode()
_SEPARATORS_LEAD = _LINE_SEPARATOR[:2]


class JSONRenderer(renderers.JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if self.get_indent(accepted_media_type, renderer_context or {}) is None and self.compact:
            try:
                out = orjson.dumps(data, default=_default, option=_OPTIONS)
            except TypeError:  # orjson.JSONEncodeError included
                pass
            else:
                if _SEPARATORS_LEAD in out:  # kept a strict JavaScript subset, as DRF does
                    out = out.replace(_LINE_SEPARATOR, b"\\u2028").replace(_PARAGRAPH_SEPARATOR, b"\\u2029")
                return out
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            # A lone surrogate that reached an answer (a client's value echoed in an error, by a path
            # that does not decode with config.client_json): written as its escape, as json.dumps
            # does with ensure_ascii, rather than a 500. This instance is this request's.
            self.ensure_ascii = True
            return super().render(data, accepted_media_type, renderer_context)
