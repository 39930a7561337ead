"""Import kinds beyond the engine's own four: loyalty opening balances, behaviour events and stock levels.

Each kind brings its target fields, header aliases, key field and merger, and registers them with
the column planner (:mod:`rapport.imports.mapping`) and the engine (``engine.MERGERS``) when the
imports app is ready, so every front door (CLI, console, API) knows them through the same tables.
All are history only: an opening balance, a past event or a counted level has no "live" meaning.
"""

from __future__ import annotations

from rapport.imports import engine
from rapport.imports import mapping as m

LOYALTY, EVENTS, STOCK = "loyalty", "events", "stock"
HISTORY_ONLY = frozenset({LOYALTY, EVENTS, STOCK})


def register() -> None:
    from rapport.imports.kinds import events, loyalty, stock

    for kind, module in ((LOYALTY, loyalty), (EVENTS, events), (STOCK, stock)):
        m.FIELDS[kind] = list(module.FIELDS)
        m.ALIASES[kind] = dict(module.ALIASES)
        m.KEY_FIELD[kind] = module.KEY_FIELD
        engine.MERGERS[kind] = module.MERGER
    m.KINDS = (*[k for k in m.KINDS if k not in HISTORY_ONLY], LOYALTY, EVENTS, STOCK)
