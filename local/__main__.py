"""``python -m local serve`` (foreground; Ctrl-C stops everything) and ``python -m local demo``."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from local.platform import LocalPlatform, PlatformConfig


def serve(config: PlatformConfig) -> int:
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    platform = LocalPlatform(config)
    platform.start()
    env_file = config.state_dir / "env"
    env_file.write_text(
        f"export AWS_ENDPOINT_URL={platform.emulator.endpoint_url} AWS_REGION={config.region} "
        f"AWS_DEFAULT_REGION={config.region} AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local STAGE={config.stage}\n")
    print(f"Golden Time local platform\n  console     {platform.console_url}\n  API         {platform.api_url}\n"
          f"  OpenAPI     {platform.api_url}/v1/openapi.json\n  media edge  {platform.edge_url}\n"
          f"  AWS (moto)  {platform.emulator.endpoint_url}\n  admin CLI   make admin ARGS='principal list'\n"
          f"  one handler make invoke FN=trip_watchdog EVENT=events/schedule/trip_watchdog.json\n"
          f"State is kept in {config.state_dir}/aws across restarts (rm -r it to start afresh).\n"
          "Ctrl-C stops everything.", flush=True)
    stop.wait()
    print("stopping…", flush=True)
    platform.stop()
    if platform.faults is not None and platform.pump is not None:
        print(f"faults injected: {platform.faults.injected} of {platform.faults.calls} AWS calls; "
              f"{platform.pump.duplicated} messages delivered twice", flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m local")
    parser.add_argument("command", choices=["serve", "demo"])
    parser.add_argument("--state-dir", default=".local")
    parser.add_argument("--aws-port", type=int, default=4566, help="0 picks a free port")
    parser.add_argument("--api-port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument("--edge-port", type=int, default=8001, help="0 picks a free port")
    parser.add_argument("--faults", type=float, default=0.0,
                        help="share of AWS calls that fail transiently (the pump duplicates half as many messages)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = PlatformConfig(state_dir=Path(args.state_dir), aws_port=args.aws_port, api_port=args.api_port,
                            edge_port=args.edge_port, faults=args.faults)
    if args.command == "serve":
        return serve(config)
    from local.demo import run_demo

    return run_demo(config)


if __name__ == "__main__":
    sys.exit(main())
