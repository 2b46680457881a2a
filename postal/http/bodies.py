"""Request bodies: JSON nested deeper than any real body is refused before a parser sees it.

Python's JSON decoder recurses once per level, so "[" * 100000 raises RecursionError inside
whichever parser reads the body first (APIFlask's, or `request.get_json` on a page), and a body
that just fits would recurse again in validation. No body of the API nests more than a few
levels: past MAX_DEPTH the request is a 422 naming the body, on every route, API or page.
"""

from __future__ import annotations

import json

from flask import Flask, request

from postal.core.errors import ValidationFailed

MAX_DEPTH = 64


def too_deep(raw: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether the JSON text `raw` nests arrays and objects more than `limit` levels deep
    (text that is not JSON is left to the route's parser, which says so)."""
    if raw.count(b"[") + raw.count(b"{") <= limit:  # cannot nest deeper than it opens
        return False
    try:
        value = json.loads(raw)
    except RecursionError:
        return True
    except ValueError:
        return False
    stack = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


def init_app(app: Flask) -> None:
    @app.before_request
    def _refuse_deep_json():
        if request.is_json and too_deep(request.get_data(cache=True)):
            raise ValidationFailed(f"body: JSON nested deeper than {MAX_DEPTH} levels",
                                   field="body")
