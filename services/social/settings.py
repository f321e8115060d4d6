"""Settings of the social service."""

from services.kit.settings import ServiceSettings


class SocialSettings(ServiceSettings):
    """Typed settings; the service name decides which agencies of the registry it hosts."""

    service: str = "social"
