"""``make invoke FN=<function> EVENT=<file>``: run one function's handler once with a sample event against
the running local platform (the ``sam local invoke`` habit), and print what it returned.

    make invoke FN=trip_watchdog EVENT=events/schedule/trip_watchdog.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from chalicelib.cli import run_reporting_connection
from local.lambda_runtime import LambdaContext, resolve_handler

FUNCTIONS = Path(__file__).resolve().parents[1] / "functions"


def functions() -> list[str]:
    return sorted(p.parent.name for p in FUNCTIONS.glob("*/handler.py"))


def invoke(function: str, event_file: Path) -> int:
    if function not in functions():
        print(f"error: no function {function!r}; one of: {', '.join(functions())}", file=sys.stderr)
        return 2
    event = json.loads(event_file.read_text())
    handler = resolve_handler(f"functions.{function}.handler.lambda_handler")

    def run() -> int:
        result = handler(event, LambdaContext(function_name=function))
        print(json.dumps(result, ensure_ascii=False, default=str))  # one line, after any EMF metrics lines
        return 0

    return run_reporting_connection(run)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.invoke", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("function", help="a folder under functions/, e.g. trip_watchdog")
    parser.add_argument("event", type=Path, help="a JSON event file, e.g. under events/")
    args = parser.parse_args(argv)
    return invoke(args.function, args.event)


if __name__ == "__main__":
    sys.exit(main())
