"""School rules for the duty reports. No I/O."""

from contracts.codes import HandoffKind
from contracts.envelope import DutyBasis, LegalDuty
from services.features.handoffs.domain import HandoffRefused
from services.kit.agencies import Agency, AgencyRegistry

KAA_BASIS = DutyBasis(duty=LegalDuty.KAA_NOTIFICATION)
CONCERN_BASIS = DutyBasis(duty=LegalDuty.CONCERN_REPORT)


def kaa_unit_for(registry: AgencyRegistry, home_municipality: str) -> Agency:
    """The home municipality's activity unit: KAA duties follow where the student lives."""
    agency = registry.receiver_in(home_municipality, HandoffKind.DROPOUT_REPORT)
    if agency is None:
        raise HandoffRefused(
            "unknown_receiver", f"no KAA unit registered for municipality {home_municipality}"
        )
    return agency


def social_services_for(registry: AgencyRegistry, municipality: str) -> Agency:
    """The social services that receive reports of concern in `municipality`."""
    agency = registry.receiver_in(municipality, HandoffKind.CONCERN_REPORT)
    if agency is None:
        raise HandoffRefused(
            "unknown_receiver", f"no social services registered for municipality {municipality}"
        )
    return agency
