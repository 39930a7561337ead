"""The error codes the opportunities API answers with, declared once (see clienteling/errors.py)."""

from enum import StrEnum


class OpportunitiesErrorCode(StrEnum):
    CLOSED = "closed"
    CLOSED_STAGE = "closed_stage"
    INVALID = "invalid"
    NOT_FOUND = "not_found"
    ORDER_REQUIRED = "order_required"
    OUT_OF_RANGE = "out_of_range"
    REQUIRED = "required"
    TOO_LONG = "too_long"
    WRONG_PIPELINE = "wrong_pipeline"
