"""JSON bytes with orjson, falling back to the standard library for what orjson refuses."""

from __future__ import annotations

import json
from typing import Any

import orjson

# Datetimes and dataclasses go to `default` (Flask's provider converts them its own way).
_PASSTHROUGH = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_OPTIONS = _PASSTHROUGH | orjson.OPT_NON_STR_KEYS


def encode_json(obj: Any, default: Any = None, sort_keys: bool = False) -> bytes:
    """Serialize `obj` compactly as UTF-8 JSON bytes.

    What orjson will not write (an integer past 64 bits, a lone surrogate) the standard library
    writes as Flask did, non-ASCII escaped, or refuses as before.
    """
    options = _OPTIONS | orjson.OPT_SORT_KEYS if sort_keys else _OPTIONS
    try:
        return orjson.dumps(obj, default=default, option=options)
    except TypeError:
        text = json.dumps(obj, default=default, sort_keys=sort_keys, separators=(",", ":"))
        return text.encode()
