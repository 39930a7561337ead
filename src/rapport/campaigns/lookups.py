"""``field__any_of=[ids]``: one array parameter on PostgreSQL instead of thousands of ``IN`` ones.

The engine and the dispatcher work on chunks of 5,000 ids. As ``IN (%s, …)`` each id is a
separate parameter that the driver splices into the statement text, which cost more than the
statements themselves in the dispatch benchmark; ``= ANY(%s)`` sends one array. SQLite keeps ``IN``.
The lookup is registered on the few key fields the hot paths filter by.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Field, Lookup


class AnyOf(Lookup):  # type: ignore[type-arg]
    lookup_name = "any_of"
    prepare_rhs = False

    def get_db_prep_lookup(self, value: Any, connection: Any) -> tuple[str, list[Any]]:
        return "%s", [[int(v) for v in value]]

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        ids = [int(v) for v in self.rhs]
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", [*lhs_params, ids]
        if not ids:
            return "1 = 0", list(lhs_params)
        return f"{lhs} IN ({', '.join(['%s'] * len(ids))})", [*lhs_params, *ids]


def register(*fields: Field[Any, Any]) -> None:
    for field in fields:
        field.register_lookup(AnyOf)
