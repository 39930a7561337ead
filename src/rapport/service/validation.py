"""Small input cleaners the service modules share: text within a length, one of a set of choices."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rapport.core.errors import FieldError


def clean_text(value: Any, field: str, limit: int, errors: list[FieldError], *, required: bool = True) -> str:
    """Stripped text, or "" with an error appended naming ``field`` and the reason."""
    if value is not None and not isinstance(value, str):
        errors.append(FieldError(field, "invalid", "expected text"))
        return ""
    text = (value or "").strip()
    if required and not text:
        errors.append(FieldError(field, "required", f"{field} is required"))
    elif len(text) > limit:
        errors.append(FieldError(field, "too_long", f"at most {limit} characters"))
    return text


def clean_choice(value: Any, field: str, choices: Sequence[str], errors: list[FieldError]) -> str:
    if value not in choices:
        errors.append(FieldError(field, "invalid", f"one of: {', '.join(choices)}"))
        return ""
    return str(value)
