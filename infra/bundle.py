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


def _stage(target: Path, *, files: dict[str, Path], trees: tuple[str, ...] = ("chalicelib", "functions")) -> Path:
    """A fresh ``target`` holding ``files`` (name in target → source) and the code trees that ship."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for name, source in files.items():
        shutil.copy2(source, target / name)
    for tree in trees:
        _copy_tree(REPO_ROOT / tree, target / tree)
    return target


def stage_function_bundle(out: Path) -> Path:
    """``app.py`` + ``chalicelib/`` + ``functions/``: one bundle every function and the API share."""
    return _stage(out / "function-bundle", files={"app.py": REPO_ROOT / "app.py"})


def stage_lambda_image_context(out: Path) -> Path:
    """Docker build context for container-image functions: functions/Dockerfile, requirements and all code."""
    return _stage(out / "lambda-image-context", files={
        "Dockerfile": REPO_ROOT / "functions" / "Dockerfile", "requirements.txt": REPO_ROOT / "requirements.txt",
        "app.py": REPO_ROOT / "app.py"})


def stage_search_shard_context(out: Path) -> Path:
    """Docker build context for the GPU search shard: the Dockerfile, requirements and the code it runs."""
    return _stage(out / "search-shard-context", files={
        "Dockerfile": REPO_ROOT / "functions" / "search_shard" / "Dockerfile",
        "requirements.txt": REPO_ROOT / "requirements.txt"})


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
