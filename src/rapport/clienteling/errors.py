"""The error codes clienteling answers with, declared once.

Every ``code`` of an ``{"errors": [{"field", "code", "message"}]}`` body that this app's services and
handlers raise is a member here; the OpenAPI document lists them for the app's operations, and
tests/test_api_contract.py fails when a code is used without being declared here.
"""

from enum import StrEnum


class ClientelingErrorCode(StrEnum):
    CLOSED = "closed"
    INVALID = "invalid"
    NO_CONSENT = "no_consent"
    NOT_ALLOWED = "not_allowed"
    NOT_FOUND = "not_found"
    OUT_OF_RANGE = "out_of_range"
    REQUIRED = "required"
    TOO_LONG = "too_long"
