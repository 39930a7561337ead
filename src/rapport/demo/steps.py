"""Later domains add their part of the demo shop (points, campaigns, tickets, scores) here.

Each app registers a step from its ``AppConfig.ready``; :func:`rapport.demo.loader.write_plan`
runs them in ``position`` order after customers and orders are written, in the same
transaction. A step builds its rows from what is already in the database (set-based, bulk
inserts: the demo shop has thousands of customers) and returns what it wrote, by name, for
the seed report.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass

from rapport.core.actor import Actor


@dataclass(frozen=True)
class DemoContext:
    rng: random.Random
    actor: Actor
    end: dt.date
    say: Callable[[str], None]
    # The moment the demo is loaded: nothing a step writes may have happened after it (only
    # scheduled times — valid-until, expiry, due times — lie ahead).
    now: dt.datetime


DemoStep = Callable[[DemoContext], dict[str, int]]
_STEPS: dict[str, tuple[int, DemoStep]] = {}


def register_demo_step(name: str, step: DemoStep, *, position: int = 100) -> None:
    _STEPS[name] = (position, step)


def run_demo_steps(context: DemoContext) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _position, step in sorted(_STEPS.values(), key=lambda entry: entry[0]):
        counts.update(step(context))
    return counts
