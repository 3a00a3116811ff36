"""How deep a JSON text nests, measured before any parser recurses into it."""

from __future__ import annotations

import re
from itertools import accumulate

MAX_JSON_DEPTH = 32
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # unrolled: linear on long strings
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def nesting_depth(raw: bytes) -> int:
    """The deepest ``[``/``{`` nesting outside strings (json.loads recurses once per level, so a few KB
    of brackets would exhaust the interpreter's stack). Malformed text gives some depth; the parser
    then judges it."""
    brackets = _NOT_BRACKET.sub(b"", _STRING.sub(b"", raw))
    return max(accumulate(_STEP[b] for b in brackets), default=0)
