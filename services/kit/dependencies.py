"""Typed FastAPI dependencies for what every service process holds (see `provided`)."""

from typing import Annotated

import asyncpg
from fastapi import Depends

from services.kit.agencies import AgencyRegistry
from services.kit.auth import Principal, current_principal
from services.kit.provided import provided
from services.kit.settings import ServiceSettings

Caller = Annotated[Principal, Depends(current_principal)]
Pool = Annotated[asyncpg.Pool, Depends(provided(asyncpg.Pool))]
Registry = Annotated[AgencyRegistry, Depends(provided(AgencyRegistry))]
Settings = Annotated[ServiceSettings, Depends(provided(ServiceSettings))]
