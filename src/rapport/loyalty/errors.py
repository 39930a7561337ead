"""The error codes loyalty answers with, declared once.

Every ``code`` of an ``{"errors": [{"field", "code", "message"}]}`` body that this app's services and
handlers raise is a member here; the OpenAPI document lists them for the app's operations, and
tests/test_api_contract.py fails when a code is used without being declared here.
"""

from enum import StrEnum


class LoyaltyErrorCode(StrEnum):
    BEFORE_START = "before_start"
    BELOW_ISSUED = "below_issued"
    BELOW_THRESHOLD = "below_threshold"
    CARD_HELD = "card_held"
    DAILY_LIMIT = "daily_limit"
    ENDED = "ended"
    EXCLUDED = "excluded"
    EXPIRED = "expired"
    FORBIDDEN = "forbidden"
    INACTIVE = "inactive"
    INSUFFICIENT = "insufficient"
    INVALID = "invalid"
    LIMIT_REACHED = "limit_reached"
    MISMATCH = "mismatch"
    NEGATIVE = "negative"
    NO_LIMIT = "no_limit"
    NOT_A_DEBIT = "not_a_debit"
    NOT_FOUND = "not_found"
    NOT_POSITIVE = "not_positive"
    NOT_STARTED = "not_started"
    NOT_VOIDABLE = "not_voidable"
    ONE_OF = "one_of"
    OPENING_EXISTS = "opening_exists"
    OUT_OF_RANGE = "out_of_range"
    OUT_OF_SCOPE = "out_of_scope"
    OUT_OF_STOCK = "out_of_stock"
    OVER_DUE = "over_due"
    OVER_LIMIT = "over_limit"
    PRECISION = "precision"
    REQUIRED = "required"
    REUSED = "reused"
    TAKEN = "taken"
    TOO_LONG = "too_long"
    WRONG_STORE = "wrong_store"
    ZERO = "zero"
