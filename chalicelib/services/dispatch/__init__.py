"""Agency dispatch: route an incident to 112 / 119 / the disaster room, deliver it to the agency's signed
webhook, and hold it open until the agency acknowledges it (the receipt)."""

from chalicelib.services.dispatch.routing import agency_for, district_of
from chalicelib.services.dispatch.service import DispatchService
from chalicelib.services.dispatch.signing import sign, signed_headers, verify

__all__ = ["DispatchService", "agency_for", "district_of", "sign", "signed_headers", "verify"]
