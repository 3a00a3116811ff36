"""Infrastructure benchmark: CDK synthesis time and the ML layer's unzipped size.

Run: ``.venv/bin/python tests/bench/bench_infra.py [--skip-layer]``.
Prints ``BENCH synth_s <v> s`` (a fresh ``python -m infra.app``, cdk-nag included, as ``make synth`` runs it) and
``BENCH ml_layer_unzipped_mb <v> MB`` (layers/ml built from PyPI's manylinux wheels for python3.12), plus the
unzipped total of the heaviest function (ML + common layers + code bundle) against Lambda's 250 MB limit.
Exits 1 when that total is over the limit.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from layers.build_layer import LAMBDA_UNZIPPED_LIMIT_MB, build, unzipped_mb  # noqa: E402


def bench(name: str, value: float, unit: str) -> None:
    print(f"BENCH {name} {value:.1f} {unit}", flush=True)


def synth_seconds(outdir: Path) -> float:
    env = {**os.environ, "CDK_OUTDIR": str(outdir), "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "18,20"}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "infra.app"], cwd=ROOT, env=env, check=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-layer", action="store_true", help="only time synthesis (no PyPI downloads)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gt-bench-infra-") as tmp:
        out = Path(tmp)
        bench("synth_s", synth_seconds(out / "cdk.out"), "s")
        if args.skip_layer:
            return 0
        ml = unzipped_mb(build("ml", out / "layers"))
        common = unzipped_mb(build("common", out / "layers"))
        code = unzipped_mb(out / "cdk.out" / ".staging" / "function-bundle")
        bench("ml_layer_unzipped_mb", ml, "MB")
        bench("common_layer_unzipped_mb", common, "MB")
        total = ml + common + code
        bench("ml_function_unzipped_total_mb", total, "MB")
        if total > LAMBDA_UNZIPPED_LIMIT_MB:
            print(f"the ML function would be {total:.1f} MB unzipped, over Lambda's limit", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
