"""Names, versions, digests and secret names are checked whole: a trailing newline (which a regex ``$`` lets
through) would put a second line into tables, logs and journal rows, so it is refused like any other bad name."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from pipeline.core import ActivityDefinition, Capabilities, EnvSecrets

DIGEST = "a" * 64


@pytest.mark.parametrize("field", [{"name": "echo\n"}, {"version": "1.0.0\n"}, {"blob": DIGEST + "\n"}])
def test_a_definition_with_a_trailing_newline_is_refused(field: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        ActivityDefinition.model_validate(
            {"name": "echo", "version": "1.0.0", "runtime": "wasm", "blob": DIGEST, **field}
        )


def test_a_secret_name_with_a_trailing_newline_is_refused() -> None:
    with pytest.raises(ValidationError):
        Capabilities(secrets=("token\n",))
    with pytest.raises(ValueError, match="invalid secret name"):
        EnvSecrets().get("token\n")
