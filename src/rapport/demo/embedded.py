"""Getting the embedded default ready to serve: migrated database, static files, demo shop.

``rapport run`` calls :func:`prepare` and then serves; the preparation is kept apart from the
server so that it can be tested and reused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.management import call_command

from rapport.customers.models import Customer
from rapport.demo.loader import SeedReport, existing_shop_data, seed_demo_shop
from rapport.demo.staff import DemoLogin, demo_logins


@dataclass
class Prepared:
    logins: list[DemoLogin] = field(default_factory=list)
    seeded: SeedReport | None = None


def prepare(
    *,
    seed: int,
    load_demo: bool = True,
    customers: int = 5000,
    say: Callable[[str], None] = lambda message: None,
) -> Prepared:
    """Migrate, collect static files, and load the demo shop when the database has no customers.

    A database that has no customers but other shop data (an imported catalogue, say) is left
    alone: the demo shop never mixes into real data.
    """
    call_command("migrate", interactive=False, verbosity=0)
    # Incremental: only files that changed since the last start are copied.
    call_command("collectstatic", interactive=False, verbosity=0)
    seeded = None
    if load_demo and not Customer.objects.exists():
        found = existing_shop_data()
        if found:
            listed = ", ".join(f"{n} {what}" for what, n in found.items())
            say(f"Not loading the demo shop: the database already holds {listed}.")
        else:
            say(f"Loading the demo shop (seed {seed})…")
            seeded = seed_demo_shop(seed=seed, customers=customers, say=lambda message: say(f"  {message}"))
            say(f"Demo shop loaded in {seeded.seconds:.1f} s.")
    return Prepared(logins=demo_logins(), seeded=seeded)
