"""Error codes the promotions domain answers with."""

from enum import StrEnum


class PromotionErrorCode(StrEnum):
    REQUIRED = "required"
    INVALID = "invalid"
    UNKNOWN_FIELD = "unknown_field"
    CAP_REACHED = "cap_reached"
