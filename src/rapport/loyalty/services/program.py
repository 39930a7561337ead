"""The programme-wide settings row, created with its defaults on first use."""

from __future__ import annotations

from rapport.loyalty.models import ProgramSettings


def program_settings() -> ProgramSettings:
    settings_row, _created = ProgramSettings.objects.get_or_create(pk=1)
    return settings_row
