"""The error codes tags answers with, declared once.

Every ``code`` of an ``{"errors": [{"field", "code", "message"}]}`` body that this app's services and
handlers raise is a member here; the OpenAPI document lists them for the app's operations, and
tests/test_api_contract.py fails when a code is used without being declared here.
"""

from enum import StrEnum


class TagsErrorCode(StrEnum):
    AUTOMATIC = "automatic"
    DUPLICATE = "duplicate"
    IMMUTABLE = "immutable"
    IN_USE = "in_use"
    INACTIVE = "inactive"
    INVALID = "invalid"
    MANUAL = "manual"
    NOT_DEAD = "not_dead"
    NOT_FOUND = "not_found"
    ONE_OF = "one_of"
    OUT_OF_SCOPE = "out_of_scope"
    REQUIRED = "required"
    SELF_REFERENCE = "self_reference"
    TOO_LARGE = "too_large"
    TOO_LONG = "too_long"
    TOO_MANY = "too_many"
    UNKNOWN_FIELD = "unknown_field"
    UNUSABLE = "unusable"
