"""``python -m local.console_contract OUT``: the API's OpenAPI document, as /v1/openapi.json serves it, written
for the console's type generator (openapi-typescript), so a contract change the console does not follow
fails its ``tsc``."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    from app import app  # noqa: F401 - registers every route the document describes
    from chalicelib.api.openapi import openapi_document

    out = Path(argv[0] if argv else "console/openapi.json")
    text = json.dumps(openapi_document(), indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    if not out.exists() or out.read_text() != text:  # unchanged: keep the file's time (make stays quiet)
        out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
