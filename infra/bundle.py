"""Stage the directories that become assets: the function bundle, layers and the search-shard image context.

Staging copies only what ships (never .venv, tests or caches), so asset hashes change exactly when code does.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from infra.config import REPO_ROOT

_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache", "Dockerfile", "*.md")
LAYER_PLACEHOLDER = "NOT_BUILT"


def _copy_tree(source: Path, target: Path) -> None:
    shutil.copytree(source, target, ignore=_IGNORE, dirs_exist_ok=True)


def stage_function_bundle(out: Path) -> Path:
    """``app.py`` + ``chalicelib/`` + ``functions/``: one bundle every function and the API share."""
    target = out / "function-bundle"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    shutil.copy2(REPO_ROOT / "app.py", target / "app.py")
    _copy_tree(REPO_ROOT / "chalicelib", target / "chalicelib")
    _copy_tree(REPO_ROOT / "functions", target / "functions")
    return target


def stage_lambda_image_context(out: Path) -> Path:
    """Docker build context for container-image functions: functions/Dockerfile, requirements and all code."""
    target = out / "lambda-image-context"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    shutil.copy2(REPO_ROOT / "functions" / "Dockerfile", target / "Dockerfile")
    shutil.copy2(REPO_ROOT / "requirements.txt", target / "requirements.txt")
    shutil.copy2(REPO_ROOT / "app.py", target / "app.py")
    _copy_tree(REPO_ROOT / "chalicelib", target / "chalicelib")
    _copy_tree(REPO_ROOT / "functions", target / "functions")
    return target


def stage_search_shard_context(out: Path) -> Path:
    """Docker build context for the GPU search shard: the Dockerfile, requirements and the code it runs."""
    target = out / "search-shard-context"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    shutil.copy2(REPO_ROOT / "functions" / "search_shard" / "Dockerfile", target / "Dockerfile")
    shutil.copy2(REPO_ROOT / "requirements.txt", target / "requirements.txt")
    _copy_tree(REPO_ROOT / "chalicelib", target / "chalicelib")
    _copy_tree(REPO_ROOT / "functions", target / "functions")
    return target


def layer_directory(name: str, out: Path, *, required: bool) -> Path:
    """``build/layers/<name>`` as built by ``layers/<name>/build.sh``, or a marked placeholder for offline synth."""
    built = REPO_ROOT / "build" / "layers" / name
    if (built / "python").is_dir():
        return built
    if required:
        raise FileNotFoundError(f"layer {name!r} is not built: run layers/{name}/build.sh before deploying")
    placeholder = out / "layers" / name
    (placeholder / "python").mkdir(parents=True, exist_ok=True)
    (placeholder / "python" / LAYER_PLACEHOLDER).write_text(f"run layers/{name}/build.sh before deploying\n")
    return placeholder
