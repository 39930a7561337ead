"""The error codes inventory answers with, declared once.

Every ``code`` of an ``{"errors": [{"field", "code", "message"}]}`` body that this app's services and
handlers raise is a member here; the OpenAPI document lists them for the app's operations, and
tests/test_api_contract.py fails when a code is used without being declared here.
"""

from enum import StrEnum


class InventoryErrorCode(StrEnum):
    INVALID = "invalid"
    IN_STOCK = "in_stock"  # a back-in-stock request for a product that is not sold out
    NOT_FOUND = "not_found"
    NO_FORECAST = "no_forecast"  # the product has no stored forecast yet (the nightly run makes them)
    REQUIRED = "required"
    TOO_LONG = "too_long"
    UNKNOWN_FIELD = "unknown_field"
