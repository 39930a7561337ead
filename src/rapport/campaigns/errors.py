"""The error codes campaigns answers with, declared once.

Every ``code`` of an ``{"errors": [{"field", "code", "message"}]}`` body that this app's services and
handlers raise is a member here; the OpenAPI document lists them for the app's operations, and
tests/test_api_contract.py fails when a code is used without being declared here.
"""

from enum import StrEnum


class CampaignsErrorCode(StrEnum):
    BAD_SIGNATURE = "bad_signature"
    DUPLICATE = "duplicate"
    FINISHED = "finished"
    IN_USE = "in_use"
    INACTIVE = "inactive"
    INCOMPLETE = "incomplete"
    INVALID = "invalid"
    INVALID_JSON = "invalid_json"
    MALFORMED = "malformed"
    NO_ACTION = "no_action"
    NO_RECOMMENDATIONS = "no_recommendations"
    NOT_DRAFT = "not_draft"
    NOT_FOUND = "not_found"
    NOT_MANUAL = "not_manual"
    NOT_PAUSED = "not_paused"
    NOT_REPORTED = "not_reported"
    NOT_RUNNING = "not_running"
    RENDER_FAILED = "render_failed"
    REQUIRED = "required"
    SYNTAX = "syntax"
    TOO_LONG = "too_long"
    UNKNOWN_FIELD = "unknown_field"
    UNKNOWN_MESSAGE = "unknown_message"
    UNKNOWN_VARIABLE = "unknown_variable"
    UNSAFE = "unsafe"
    UNSAVED = "unsaved"
    WEIGHTS = "weights"
    WRONG_CHANNEL = "wrong_channel"
