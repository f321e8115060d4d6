"""Settings of the employment service."""

from services.kit.settings import ServiceSettings


class EmploymentSettings(ServiceSettings):
    """Typed settings; the service name decides which agencies of the registry it hosts."""

    service: str = "employment"
