"""What a service process holds, made available to its routes by type.

Parts put what their routes need into the app with `provide` at start-up; a route asks for it
by type (`Annotated[HandoffDesk, Depends(provided(HandoffDesk))]`), so no handler reads an
untyped `app.state` attribute.
"""

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import FastAPI, Request

T = TypeVar("T")


def provide(app: FastAPI, thing: Any, kind: type[Any] | None = None) -> None:
    """Make `thing` available to routes that ask for its type (or `kind`)."""
    if not hasattr(app.state, "provided"):
        app.state.provided = {}
    app.state.provided[kind or type(thing)] = thing


def provided_in(app: FastAPI, kind: type[T]) -> T:
    """What was provided to `app` for `kind`; fails loudly when no part provided it."""
    found: dict[type[Any], Any] = getattr(app.state, "provided", {})
    if kind not in found:
        raise RuntimeError(f"nothing provides {kind.__name__}: is its part installed?")
    thing: T = found[kind]
    return thing


def provided(kind: type[T]) -> Callable[[Request], Awaitable[T]]:
    """A dependency giving what was provided for `kind`. Async although it never awaits:
    FastAPI would run a plain function in a worker thread, which costs more than the lookup."""

    async def dependency(request: Request) -> T:
        return provided_in(request.app, kind)

    dependency.__name__ = f"provided_{kind.__name__}"
    return dependency
