"""``make openapi``: write the API's OpenAPI document to openapi.json (the committed contract).

tests/unit/api/test_openapi_contract.py fails while the committed file and the served document differ.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

CONTRACT = Path(__file__).resolve().parents[1] / "openapi.json"


def served_document() -> dict[str, Any]:
    import app  # noqa: F401  (registers every route)
    from chalicelib.api.openapi import openapi_document

    return openapi_document()


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def main() -> int:
    CONTRACT.write_text(render(served_document()), encoding="utf-8")
    print(f"wrote {CONTRACT.name} ({len(served_document()['paths'])} paths)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
