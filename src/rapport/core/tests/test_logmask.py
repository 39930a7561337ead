"""Personal data is masked in every log handler's output."""

from __future__ import annotations

import io
import logging
import logging.config
from typing import Any

import pytest

from rapport.core.logmask import MaskPersonalData, mask_personal_text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("sent to zhang.wei@example.com", "sent to z***@example.com"),
        ("phone 13106350292 matched", "phone 131****0292 matched"),
        ("phone +86 131 0635 0292", "phone 861****0292"),
        ("call 131-0635-0292", "call 131****0292"),
        ("foreign +44 20 7946 0958", "foreign 442****0958"),
        ("id 11010519491231002X", "id 110****002X"),
        ("your code is 424242 (order 20231105, job #17)", "your code is 424242 (order 20231105, job #17)"),
    ],
)
def test_personal_data_is_masked_and_codes_and_ids_are_not(text: str, masked: str) -> None:
    assert mask_personal_text(text) == masked


def _configured_logger(settings: Any, stream: io.StringIO) -> logging.Logger:
    config = {**settings.LOGGING, "disable_existing_loggers": False}
    config["handlers"] = {name: {**h, "stream": stream} for name, h in config["handlers"].items()}
    logging.config.dictConfig(config)
    return logging.getLogger("rapport.tests.logmask")


def test_every_configured_handler_masks_messages_args_and_tracebacks(settings: Any) -> None:
    assert all("mask_personal_data" in h.get("filters", []) for h in settings.LOGGING["handlers"].values())
    stream = io.StringIO()
    try:
        logger = _configured_logger(settings, stream)
        logger.warning("customer %s at %s", "amy@example.com", "13812345678")
        try:
            raise ValueError("no customer with phone +8613912345678")
        except ValueError:
            logger.exception("lookup failed")
    finally:
        logging.config.dictConfig(settings.LOGGING)
    written = stream.getvalue()
    assert "amy@example.com" not in written and "a***@example.com" in written
    assert "13812345678" not in written and "138****5678" in written
    assert "8613912345678" not in written and "ValueError: no customer with phone 861****5678" in written


def test_a_malformed_record_is_passed_on_untouched() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s %s", ("one",), None)
    assert MaskPersonalData().filter(record) is True
    assert record.args == ("one",)
