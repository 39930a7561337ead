"""The error codes service answers with, declared once.

Every ``code`` of an ``{"errors": [{"field", "code", "message"}]}`` body that this app's services and
handlers raise is a member here; the OpenAPI document lists them for the app's operations, and
tests/test_api_contract.py fails when a code is used without being declared here.
"""

from enum import StrEnum


class ServiceErrorCode(StrEnum):
    AFTER_END = "after_end"
    ANSWERED = "answered"
    BAD_CONTENT = "bad_content"
    CLOSED = "closed"
    DUPLICATE = "duplicate"
    EMPTY = "empty"
    EXPIRED = "expired"
    FORBIDDEN = "forbidden"
    FORBIDDEN_TYPE = "forbidden_type"
    HANDED_OVER = "handed_over"
    IN_USE = "in_use"
    INVALID = "invalid"
    INVALID_TRANSITION = "invalid_transition"
    MERGED = "merged"
    NO_NAME = "no_name"
    NOT_AGENT = "not_agent"
    NOT_FOUND = "not_found"
    OTHER_CUSTOMER = "other_customer"
    OUT_OF_RANGE = "out_of_range"
    REQUIRED = "required"
    TOO_LARGE = "too_large"
    TOO_LONG = "too_long"
    TOO_MANY = "too_many"
    TYPE_MISMATCH = "type_mismatch"
    UNKNOWN_FIELD = "unknown_field"
    UNKNOWN_VARIABLE = "unknown_variable"
