"""Personal data kept out of the server log: a filter on every log handler masks email addresses,
phone numbers and ID card numbers in each message and traceback, however the code logged them.

A portal sign-in code stays readable (the embedded default writes it to the log for want of a mail
transport); the address it went to is masked. Names cannot be told from other words by pattern,
so code logs ids, never names (see ``docs/privacy.md``).
"""

from __future__ import annotations

import logging
import re

from rapport.core.pii import mask_email

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# mainland mobiles in the forms people write them (13106350292, +86 131 0635 0292, 131-0635-0292)
# and other international numbers with a leading +
CN_MOBILE = re.compile(r"(?<![\w+])(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?!\d)")
INTERNATIONAL = re.compile(r"(?<![\w+])\+\d{1,3}[ -]?\d(?:[ -]?\d){6,13}(?!\d)")
ID_CARD = re.compile(r"(?<![\w])\d{17}[\dXx](?![\w])")


def _mask_number(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    return f"{digits[:3]}****{digits[-4:]}"


def mask_personal_text(text: str) -> str:
    """The text with emails, phone numbers and ID card numbers masked (``z***@example.com``, ``138****5678``)."""
    if not text:
        return text
    text = EMAIL.sub(lambda m: mask_email(m.group()), text)
    text = ID_CARD.sub(lambda m: f"{m.group()[:3]}****{m.group()[-4:]}", text)
    text = CN_MOBILE.sub(_mask_number, text)
    return INTERNATIONAL.sub(_mask_number, text)


class MaskPersonalData(logging.Filter):
    """Rewrites a record's message (and its traceback) masked; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: the handler reports it as it would have
            return True
        masked = mask_personal_text(message)
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_personal_text(record.exc_text)
        return True
