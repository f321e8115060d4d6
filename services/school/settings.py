"""Settings of the school service."""

from services.kit.settings import ServiceSettings


class SchoolSettings(ServiceSettings):
    """Typed settings; the service name decides which agencies of the registry it hosts."""

    service: str = "school"
