"""Build one Lambda layer for python3.12 / x86_64 from ``layers/<name>/requirements.txt`` and report its size.

Usage: ``python layers/build_layer.py ml [--out build/layers] [--limit-mb 250]``

Wheels come only as manylinux x86_64 binaries (``--only-binary=:all:``) for CPython 3.12, so the layer matches
the Lambda runtime whatever machine builds it. The python3.12 runtime is Amazon Linux 2023 (glibc 2.34), so
manylinux2014 and the newer manylinux_2_28/2_34 tags all load (onnxruntime ships only manylinux_2_27+ wheels).
Prints a ``BENCH <name>_layer_unzipped_mb <v> MB`` line and exits 1 when the unzipped layer is over the limit
(Lambda's 250 MB covers function code and all layers together).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAMBDA_UNZIPPED_LIMIT_MB = 250.0
_PRUNE_DIRS = ("__pycache__", "tests", "test")
# boto3/botocore/s3transfer come with the runtime; pip/setuptools/wheel are chalice's packaging-time deps.
_RUNTIME_PROVIDED_OR_UNUSED = ("boto3", "boto3-*", "botocore", "botocore-*", "s3transfer", "s3transfer-*", "pip",
                               "pip-*", "setuptools", "setuptools-*", "wheel", "wheel-*", "_distutils_hack",
                               "distutils-precedence.pth")
# Files a layer carries beside its packages (a layer unpacks under /opt): the Korean font of the monitor's
# snapshot captions (Debian's fonts-nanum, SIL Open Font License), looked up at /opt/fonts/NanumGothic.ttf.
EXTRA_FILES = {"ml": ((Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf"), "fonts/NanumGothic.ttf"),)}
PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_28_x86_64", "manylinux_2_34_x86_64")
PLATFORM_ARGS = [arg for platform in PLATFORMS for arg in ("--platform", platform)]


def build(name: str, out: Path) -> Path:
    requirements = ROOT / "layers" / name / "requirements.txt"
    target = out / name
    if target.exists():
        shutil.rmtree(target)
    site = target / "python"
    site.mkdir(parents=True)
    subprocess.run(  # noqa: S603 - fixed argv: this interpreter's pip and a recipe file of this repo
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
         *PLATFORM_ARGS, "--implementation", "cp", "--python-version", "3.12",
         "--only-binary=:all:", "--target", str(site), "-r", str(requirements)],
        check=True,
    )
    prune(site)
    for source, inside in EXTRA_FILES.get(name, ()):
        if not source.is_file():
            raise SystemExit(f"{source} is missing: apt-get install fonts-nanum (make system-deps)")
        (target / inside).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target / inside)
    return target


def prune(site: Path) -> None:
    """Drop what never runs in Lambda: bytecode caches, packaged test suites, runtime-provided packages."""
    for pattern in _PRUNE_DIRS:
        for path in sorted(site.rglob(pattern), reverse=True):
            if path.is_dir() and path.parent != site:
                shutil.rmtree(path, ignore_errors=True)
    for pattern in _RUNTIME_PROVIDED_OR_UNUSED:
        for path in site.glob(pattern):
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink()


def unzipped_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / (1024 * 1024)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="layer recipe under layers/ (ml, common)")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "layers")
    parser.add_argument("--limit-mb", type=float, default=LAMBDA_UNZIPPED_LIMIT_MB)
    args = parser.parse_args()
    target = build(args.name, args.out)
    size = unzipped_mb(target)
    print(f"BENCH {args.name}_layer_unzipped_mb {size:.1f} MB", flush=True)
    if size > args.limit_mb:
        print(f"layer {args.name} is {size:.1f} MB unzipped, over the {args.limit_mb:.0f} MB limit", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
