"""The error codes customers answers with, declared once.

Every ``code`` of an ``{"errors": [{"field", "code", "message"}]}`` body that this app's services and
handlers raise is a member here; the OpenAPI document lists them for the app's operations, and
tests/test_api_contract.py fails when a code is used without being declared here.
"""

from enum import StrEnum


class CustomersErrorCode(StrEnum):
    DECIDED = "decided"
    DUPLICATE = "duplicate"
    GONE = "gone"
    HAS_ORDERS = "has_orders"
    HAS_RECORDS = "has_records"
    IMMUTABLE = "immutable"
    INVALID = "invalid"
    NOT_FOUND = "not_found"
    REQUIRED = "required"
    SAME_CUSTOMER = "same_customer"
    TOO_LONG = "too_long"
    UNKNOWN_FIELD = "unknown_field"
