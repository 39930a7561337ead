"""Who is acting: passed explicitly into every service so audit and history know it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User


class Source:
    CONSOLE = "console"
    API = "api"
    IMPORT = "import"
    TRACKING = "tracking"
    SYSTEM = "system"
    CLI = "cli"
    CUSTOMER = "customer"  # the customer themself: member portal, unsubscribe link, chat

    CHOICES = [
        (CONSOLE, "console"),
        (API, "API"),
        (IMPORT, "import"),
        (TRACKING, "tracking"),
        (SYSTEM, "system"),
        (CLI, "command line"),
        (CUSTOMER, "customer"),
    ]


@dataclass(frozen=True)
class Actor:
    """A staff user (or none, for jobs) plus the path the action came through."""

    user: AbstractBaseUser | AnonymousUser | None = None
    source: str = Source.SYSTEM
    label: str = ""

    @property
    def staff_user(self) -> User | None:
        user = self.user
        return user if user is not None and user.is_authenticated else None  # type: ignore[return-value]

    def describe(self) -> str:
        if self.label:
            return self.label
        user = self.staff_user
        return user.get_username() if user is not None else self.source

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(user=None, source=Source.SYSTEM, label=label)
