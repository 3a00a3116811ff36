"""Function environments: ``chalicelib.settings.Settings`` field names, upper-cased, and nothing else."""

from __future__ import annotations

from chalicelib.catalog import ResourceCatalog
from chalicelib.settings import Settings

# Lambda sets AWS_REGION itself (a reserved variable) and the cloud has no emulator endpoint.
_PROVIDED_BY_LAMBDA = frozenset({"aws_region", "aws_endpoint_url"})


def settings_environment(catalog: ResourceCatalog, **values: str | None) -> dict[str, str]:
    """``STAGE`` and ``FOOTAGE_RETENTION_DAYS`` from the catalog plus the given Settings fields (lower-case names);
    a ``None`` value is a deployment choice left unset (the field keeps its default)."""
    footage_days = catalog.buckets["footage"].expire_after_days
    merged: dict[str, str] = {"stage": catalog.stage}
    if footage_days is not None:
        merged["footage_retention_days"] = str(footage_days)
    merged.update({name: value for name, value in values.items() if value is not None})
    names = set(merged) | set(values)  # a misspelt name is refused even while unset
    unknown = names - set(Settings.model_fields) | (names & _PROVIDED_BY_LAMBDA)
    if unknown:
        raise ValueError(f"not settable Settings fields: {sorted(unknown)}")
    return {name.upper(): value for name, value in sorted(merged.items())}
