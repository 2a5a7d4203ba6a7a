"""The shape a recorded body must have, from its snapshot path: a list or one resource.

azure-core's paging reads a list body's ``value`` and silently yields nothing when it is absent,
so a body of the wrong shape (``{"items": []}`` for a compute list, ``[...]`` for a workspace)
would drop a workspace's resources without a word. The recorder (live) and the replay check every
body against the shape its path implies and report a mismatch as a failure of that call.

ARM paths alternate collection and name segments (``subscriptions/<s>/resourcegroups/<rg>``), a
``providers/<namespace>`` pair aside: an odd count of segments names a collection (a list
``{"value": [...]}``), an even count one resource (a JSON object). Run-history paths
(``history/v1.0/...``) follow the same rule after their prefix; POST actions (``listNodes``) and
the discovery document are objects.
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath
from typing import Any


def expected_shape(relpath: PurePosixPath) -> str:
    """`list`, `object`, or `unknown` (a path outside the ARM / run-history layout)."""
    parts = list(relpath.parts)
    if not parts:
        return "unknown"
    last = parts[-1]
    parts[-1] = last.removesuffix(".json").split("@", 1)[0]
    if parts[:2] == ["history", "v1.0"]:
        parts = parts[2:]
    if parts == ["discovery"] or parts[-1].startswith("list"):
        return "object"
    if not parts or parts[0] != "subscriptions":
        return "unknown"
    kept: list[str] = []
    skip = 0
    for index, part in enumerate(parts):
        if skip:
            skip -= 1
            continue
        if part == "providers" and index % 2 == 0 and index + 1 < len(parts):
            skip = 1
            continue
        kept.append(part)
    return "list" if len(kept) % 2 == 1 else "object"


def shape_problem(relpath: PurePosixPath, document: Any) -> str | None:
    """Why `document` cannot be the body of `relpath` (None when its shape is right)."""
    shape = expected_shape(relpath)
    if not isinstance(document, dict):
        return f"unexpected shape: a JSON {type(document).__name__}, expected an object"
    if shape != "list":
        return None
    if "value" not in document:
        keys = ", ".join(sorted(map(str, document))[:5]) or "none"
        return f"unexpected shape: a list body needs \"value\" (keys: {keys})"
    if not isinstance(document["value"], list):
        return f"unexpected shape: \"value\" is a {type(document['value']).__name__}, expected a list"
    odd = next((item for item in document["value"] if not isinstance(item, dict)), None)
    if odd is not None:
        return f"unexpected shape: a list item is a {type(odd).__name__}, expected an object"
    return None


def body_problem(relpath: PurePosixPath, body: bytes) -> str | None:
    """`shape_problem` of raw bytes; invalid JSON is a problem too."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return f"not valid JSON ({exc})"
    return shape_problem(relpath, document)
