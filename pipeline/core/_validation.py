"""One reading of a pydantic ``ValidationError`` for people: what is wrong, where, on one line."""

from __future__ import annotations

from pydantic import ValidationError


def validation_problem(exc: ValidationError) -> str:
    """The first thing pydantic found wrong: ``where: what`` (``what`` alone when it is the whole value)."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message
