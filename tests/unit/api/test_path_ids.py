"""Every id in a path has a published shape (the 404 for an ill-formed one: tests/functional/
test_api_hostile_input.py)."""

from __future__ import annotations

import json
import re

import app  # noqa: F401  (registers the routes)
from chalicelib.api.http import ROUTES
from chalicelib.api.path_ids import PATH_IDS
from local.openapi import CONTRACT


def test_every_path_parameter_of_the_api_has_a_pattern():
    names = {name for route in ROUTES for name in re.findall(r"{(\w+)}", route.path)}
    assert names, "no path parameters found"
    assert names <= set(PATH_IDS), names - set(PATH_IDS)


def test_the_contract_publishes_the_patterns():
    document = json.loads(CONTRACT.read_text(encoding="utf-8"))
    for path, item in document["paths"].items():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    assert parameter["schema"]["pattern"] == PATH_IDS[parameter["name"]], (path, parameter["name"])
                    assert re.search(parameter["schema"]["pattern"], parameter["example"]), (path, parameter)
