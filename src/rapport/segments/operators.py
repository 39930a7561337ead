"""Operators shared by condition types: each one as SQL (an expression over a column) and as
Python (the reference evaluator), with the same meaning of "missing" on both sides.

A missing value (SQL NULL, an absent key, an empty text) never matches a comparison; ``neq``
and ``not_in`` do match it ("is not gold" holds for a customer with no tier), and
``is_set``/``is_not_set`` test for it.

Every ``Q`` built here is two-valued: it is true or false, never SQL NULL, so that ``not`` of a
condition selects exactly the customers the condition does not (``NOT (NULL = 'x')`` is NULL in
SQL, which would drop the customer from both sides).

``contains`` ignores the case of the Latin letters A–Z only (``"amy"`` finds ``"Amy"``, ``"é"``
does not find ``"É"``): SQLite folds only those, and PostgreSQL is made to do the same, so both
databases agree whatever their locale. Text equality is exact.

Numbers held as JSON (custom fields, event properties) compare as double precision: exact for
whole numbers up to 2⁵³ and decimals of up to 15 significant digits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db.models import Func, IntegerField, Q, TextField, Value
from django.db.models.functions import StrIndex
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    In,
    IsNull,
    LessThan,
    LessThanOrEqual,
)
from django.utils.translation import gettext_lazy as _

from rapport.core.errors import FieldError, InvalidInput

TEXT_OPS = ("eq", "neq", "contains", "in", "not_in", "is_set", "is_not_set")
CHOICE_OPS = ("eq", "neq", "in", "not_in", "is_set", "is_not_set")
NUMBER_OPS = ("eq", "neq", "gt", "gte", "lt", "lte", "between", "is_set", "is_not_set")
DATE_OPS = ("before", "after", "between", "within_last_days", "more_than_days_ago", "is_set", "is_not_set")
MULTI_OPS = ("contains_any", "contains_all", "is_set", "is_not_set")
BOOLEAN_OPS = ("is_true", "is_false")

OPS_BY_KIND = {
    "text": TEXT_OPS,
    "choice": CHOICE_OPS,
    "number": NUMBER_OPS,
    "integer": NUMBER_OPS,
    "date": DATE_OPS,
    "datetime": DATE_OPS,
    "multi": MULTI_OPS,
    "boolean": BOOLEAN_OPS,
}


OP_LABELS: dict[str, Any] = {
    "eq": _("is"),
    "neq": _("is not"),
    "contains": _("contains"),
    "in": _("is any of"),
    "not_in": _("is none of"),
    "gt": _("more than"),
    "gte": _("at least"),
    "lt": _("less than"),
    "lte": _("at most"),
    "between": _("between"),
    "before": _("before"),
    "after": _("after"),
    "within_last_days": _("within the last … days"),
    "more_than_days_ago": _("more than … days ago"),
    "contains_any": _("has any of"),
    "contains_all": _("has all of"),
    "is_set": _("is set"),
    "is_not_set": _("is not set"),
    "is_true": _("is yes"),
    "is_false": _("is no"),
    "did": _("did"),
    "did_not": _("did not"),
}
"""Labels of every operator, for the rule builder."""

OP_SHAPES: dict[str, str] = {
    **dict.fromkeys(("is_set", "is_not_set", "is_true", "is_false", "did", "did_not"), "none"),
    **dict.fromkeys(("in", "not_in", "contains_any", "contains_all"), "list"),
    "between": "pair",
    "within_last_days": "days",
    "more_than_days_ago": "days",
}
OP_SHAPES.update({op: "one" for op in OP_LABELS if op not in OP_SHAPES})
"""The shape of each operator's value: ``none`` (no value), ``one``, ``list``, ``pair``
(``[low, high]``, both ends included; dates are whole days) or ``days`` (a whole number)."""


def fail(path: str, message: str, code: str = "invalid") -> InvalidInput:
    return InvalidInput([FieldError(path, code, message)])


def _number(value: Any, path: str, *, integer: bool) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise fail(path, "expected a number")
    try:
        number = Decimal(str(value))
    except ArithmeticError as exc:
        raise fail(path, "expected a number") from exc
    if not number.is_finite():
        raise fail(path, "expected a number")
    if integer and number != number.to_integral_value():
        raise fail(path, "expected a whole number")
    return number


def _date(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise fail(path, "expected a date such as 2025-06-18")
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError as exc:
        raise fail(path, "expected a date such as 2025-06-18") from exc
    if not 1000 <= day.year <= 9998:  # the day after must exist too
        raise fail(path, "a date in the years 1000 to 9998")
    return day.isoformat()


def _text_list(value: Any, vpath: str, choices: Sequence[str]) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise fail(vpath, "expected a list of at least one text value")
    if choices and (bad := [v for v in value if v not in choices]):
        raise fail(vpath, f"not among the choices: {', '.join(bad)}")
    return sorted(set(value))


def _range(kind: str, value: Any, vpath: str) -> list[str]:
    """``between``'s [low, high], dates or numbers, low first."""
    if not isinstance(value, list) or len(value) != 2:
        raise fail(vpath, "expected [low, high]")
    if kind in ("date", "datetime"):
        days = [_date(value[0], f"{vpath}.0"), _date(value[1], f"{vpath}.1")]
        if days[0] > days[1]:
            raise fail(vpath, "the first date is after the second")
        return days
    numbers = [_number(v, f"{vpath}.{i}", integer=kind == "integer") for i, v in enumerate(value)]
    if numbers[0] > numbers[1]:
        raise fail(vpath, "the low end is above the high end")
    return [str(n) for n in numbers]


def clean_operand(kind: str, op: Any, value: Any, path: str, choices: Sequence[str] = ()) -> tuple[str, Any]:
    """Check an operator and its value for a field of ``kind``; return them normalised."""
    allowed = OPS_BY_KIND[kind]
    if op not in allowed:
        raise fail(f"{path}.op", f"for this field one of: {', '.join(allowed)}")
    vpath = f"{path}.value"
    if op in ("is_set", "is_not_set", "is_true", "is_false"):
        return op, None
    if op in ("in", "not_in", "contains_any", "contains_all"):
        return op, _text_list(value, vpath, choices)
    if op == "between":
        return op, _range(kind, value, vpath)
    if op in ("within_last_days", "more_than_days_ago"):
        count = _number(value, vpath, integer=True)
        if not 0 <= count <= 36500:
            raise fail(vpath, "a number of days between 0 and 36500")
        return op, int(count)
    if kind in ("date", "datetime"):
        return op, _date(value, vpath)
    if kind in ("number", "integer"):
        return op, str(_number(value, vpath, integer=kind == "integer"))
    if not isinstance(value, str) or not value.strip():
        raise fail(vpath, "expected a text value")
    if choices and value not in choices:
        raise fail(vpath, f"one of: {', '.join(choices)}")
    return op, value.strip()


# SQL ---------------------------------------------------------------------------------------


def _date_bound(kind: str, day: str, *, next_day: bool = False) -> Any:
    date = dt.date.fromisoformat(day) + dt.timedelta(days=1 if next_day else 0)
    return date if kind == "date" else dt.datetime.combine(date, dt.time(), dt.UTC)


def _relative_bound(kind: str, days: int, now: dt.datetime) -> Any:
    moment = now - dt.timedelta(days=days)
    return moment.date() if kind == "date" else moment


def is_blank_q(expression: Any, kind: str) -> Q:
    blank = Q(IsNull(expression, True))
    if kind in ("text", "choice"):
        blank |= Q(Exact(expression, ""))
    return blank


class AsciiLower(Func):
    """Lower-case the Latin letters A–Z only, the same on every database (SQLite's ``lower``
    folds nothing else; PostgreSQL's would follow the locale)."""

    function = "LOWER"
    output_field = TextField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            function="TRANSLATE",
            template=f"%(function)s((%(expressions)s)::text, '{_UPPER}', '{_UPPER.lower()}')",
            **extra,
        )


_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ASCII_LOWER = str.maketrans(_UPPER, _UPPER.lower())


def ascii_lower(text: str) -> str:
    return text.translate(_ASCII_LOWER)


def contains_q(expression: Any, fragment: str) -> Q:
    """``expression`` contains ``fragment``, ignoring the case of A–Z (no LIKE, so ``%`` and
    ``_`` are plain characters). False, not NULL, where the expression is NULL."""
    position = StrIndex(AsciiLower(expression), Value(ascii_lower(fragment)), output_field=IntegerField())
    return known(expression, Q(GreaterThan(position, 0)))


def known(expression: Any, q: Q) -> Q:
    """``q`` made two-valued: false where ``expression`` is NULL."""
    return Q(IsNull(expression, False)) & q


def operand_q(expression: Any, kind: str, op: str, value: Any, now: dt.datetime) -> Q:
    """``expression <op> value`` as a two-valued ``Q`` (see the module docstring for missing
    values)."""
    if op in ("is_set", "is_not_set", "neq", "not_in", "contains"):
        return _operand_q(expression, kind, op, value, now)
    return known(expression, _operand_q(expression, kind, op, value, now))


def _operand_q(expression: Any, kind: str, op: str, value: Any, now: dt.datetime) -> Q:
    if op == "is_set":
        return ~is_blank_q(expression, kind)
    if op == "is_not_set":
        return is_blank_q(expression, kind)
    if op == "eq":
        return Q(Exact(expression, _typed(kind, value)))
    if op == "neq":
        return is_blank_q(expression, kind) | ~Q(Exact(expression, _typed(kind, value)))
    if op == "in":
        return Q(In(expression, value))
    if op == "not_in":
        return is_blank_q(expression, kind) | ~Q(In(expression, value))
    if op == "contains":
        return contains_q(expression, value)
    lookups = {"gt": GreaterThan, "gte": GreaterThanOrEqual, "lt": LessThan, "lte": LessThanOrEqual}
    if op in lookups:
        return Q(lookups[op](expression, _typed(kind, value)))
    if op == "between" and kind in ("number", "integer"):
        return Q(GreaterThanOrEqual(expression, _typed(kind, value[0]))) & Q(
            LessThanOrEqual(expression, _typed(kind, value[1]))
        )
    if op == "between":
        return Q(GreaterThanOrEqual(expression, _date_bound(kind, value[0]))) & Q(
            LessThan(expression, _date_bound(kind, value[1], next_day=True))
        )
    if op == "before":
        return Q(LessThan(expression, _date_bound(kind, value)))
    if op == "after":
        return Q(GreaterThanOrEqual(expression, _date_bound(kind, value, next_day=True)))
    if op == "within_last_days":
        return Q(GreaterThanOrEqual(expression, _relative_bound(kind, value, now)))
    if op == "more_than_days_ago":
        return Q(LessThan(expression, _relative_bound(kind, value, now)))
    raise ValueError(f"operator {op} is not for {kind}")


def _typed(kind: str, value: Any) -> Any:
    if kind == "integer":
        return int(Decimal(value))
    if kind == "number":
        return Decimal(value)
    return value


# Python ------------------------------------------------------------------------------------


def is_blank(actual: Any) -> bool:
    return actual is None or actual == "" or actual == []


def _number_matches(number: Decimal, op: str, value: Any) -> bool:
    if op == "between":
        return Decimal(value[0]) <= number <= Decimal(value[1])
    target = Decimal(value)
    return {
        "eq": number == target,
        "gt": number > target,
        "gte": number >= target,
        "lt": number < target,
        "lte": number <= target,
    }[op]


def operand_matches(actual: Any, kind: str, op: str, value: Any, now: dt.datetime) -> bool:
    """The reference meaning of the same operators, on a plain Python value."""
    if op == "is_set":
        return not is_blank(actual)
    if op == "is_not_set":
        return is_blank(actual)
    if op == "is_true":
        return actual is True
    if op == "is_false":
        return actual is False
    if op in ("neq", "not_in") and is_blank(actual):
        return True
    if op == "neq":
        return not operand_matches(actual, kind, "eq", value, now)
    if op == "not_in":
        return actual not in value
    if is_blank(actual):
        return False
    if op == "contains_any":
        return any(v in actual for v in value)
    if op == "contains_all":
        return all(v in actual for v in value)
    if op == "contains":
        return ascii_lower(value) in ascii_lower(str(actual))
    if op == "in":
        return actual in value
    if kind in ("date", "datetime"):
        return _date_matches(actual, kind, op, value, now)
    if kind in ("number", "integer"):
        return _number_matches(Decimal(str(actual)), op, value)
    return actual == value


def _date_matches(actual: Any, kind: str, op: str, value: Any, now: dt.datetime) -> bool:
    if op == "within_last_days":
        return actual >= _relative_bound(kind, value, now)
    if op == "more_than_days_ago":
        return actual < _relative_bound(kind, value, now)
    if op == "before":
        return actual < _date_bound(kind, value)
    if op == "after":
        return actual >= _date_bound(kind, value, next_day=True)
    if op == "between":
        return _date_bound(kind, value[0]) <= actual < _date_bound(kind, value[1], next_day=True)
    if op == "eq":
        return actual == _date_bound(kind, value)
    raise ValueError(f"operator {op} is not for dates")


def clean_window(condition: Mapping[str, Any], path: str) -> int | None:
    """An optional ``window_days``: how far back from now the condition looks."""
    window = condition.get("window_days")
    if window in (None, ""):
        return None
    days = _number(window, f"{path}.window_days", integer=True)
    if not 1 <= days <= 36500:
        raise fail(f"{path}.window_days", "a number of days between 1 and 36500")
    return int(days)
