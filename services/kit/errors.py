"""How refusals and an unreachable database are answered over HTTP."""

import asyncpg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.kit.database import UNAVAILABLE
from services.kit.refusals import Refused


def install_refusal_handlers(app: FastAPI) -> None:
    """Answer refusals with their status and reason, and an unreachable database with 503."""

    async def refused(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Refused)
        body = {"error": exc.code, "detail": exc.detail, **exc.context}
        return JSONResponse(body, status_code=exc.status)

    app.add_exception_handler(Refused, refused)

    async def unstorable_text(_: Request, exc: Exception) -> JSONResponse:
        # PostgreSQL text cannot hold a NUL character, so no stored value can match one.
        body = {"error": "invalid_text", "detail": "text may not contain NUL characters"}
        return JSONResponse(body, status_code=422)

    app.add_exception_handler(asyncpg.CharacterNotInRepertoireError, unstorable_text)

    async def unavailable(_: Request, exc: Exception) -> JSONResponse:
        # The database is restarting or unreachable: a client may try again shortly.
        body = {"error": "unavailable", "detail": "the database is unavailable; try again"}
        return JSONResponse(body, status_code=503, headers={"Retry-After": "1"})

    for error in UNAVAILABLE:
        app.add_exception_handler(error, unavailable)
