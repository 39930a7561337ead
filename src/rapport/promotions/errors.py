"""The error codes promotions answer with, declared once (tests/test_api_contract.py checks them)."""

from enum import StrEnum


class PromotionErrorCode(StrEnum):
    REQUIRED = "required"
    INVALID = "invalid"
    NOT_FOUND = "not_found"
    UNKNOWN_FIELD = "unknown_field"
    CAP_REACHED = "cap_reached"
    TAKEN = "taken"
    INACTIVE = "inactive"
