"""Construct ids and the few infra-only names, derived the same way as the catalog's."""

from __future__ import annotations


def pascal(logical: str) -> str:
    """``search-shards-done`` -> ``SearchShardsDone`` (construct ids)."""
    return "".join(part.capitalize() for part in logical.replace("_", "-").split("-"))


def infra_name(stage: str, what: str) -> str:
    return f"gt-{stage}-{what}"


# AWS Batch names; chalicelib.adapters.batch submits to the same ones (a test compares them).
SEARCH_JOB_QUEUE = "search"
SEARCH_JOB_DEFINITION = "search-shard"
