"""The error codes imports answers with, declared once.

Every ``code`` of an ``{"errors": [{"field", "code", "message"}]}`` body that this app's services and
handlers raise is a member here; the OpenAPI document lists them for the app's operations, and
tests/test_api_contract.py fails when a code is used without being declared here.
"""

from enum import StrEnum


class ImportsErrorCode(StrEnum):
    AMBIGUOUS = "ambiguous"
    CONFLICT = "conflict"
    DUPLICATE = "duplicate"
    DUPLICATE_KEY = "duplicate_key"
    EXPIRED = "expired"
    FINISHED = "finished"
    FORBIDDEN = "forbidden"
    INVALID = "invalid"
    INVALID_JSON = "invalid_json"
    NEGATIVE = "negative"
    NOT_FOUND = "not_found"
    REPORT_EXPIRED = "report_expired"
    REQUIRED = "required"
    TAKEN = "taken"
    TOO_LARGE = "too_large"
