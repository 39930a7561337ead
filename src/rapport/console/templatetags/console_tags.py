"""Small template helpers for the console."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def get_item(mapping: Any, key: str) -> Any:
    """``{{ mapping|get_item:key }}`` for keys that are only known at render time."""
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.filter
def display_value(value: Any) -> str:
    """Custom field values as a person reads them: lists joined, booleans as yes/no."""
    from django.utils.translation import gettext

    if value is True:
        return gettext("Yes")
    if value is False:
        return gettext("No")
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return "" if value is None else str(value)
