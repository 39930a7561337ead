"""How many characters and SMS segments a text takes, as a phone network counts them.

A text made only of the GSM 03.38 alphabet is sent as GSM-7: 160 characters fit one SMS, and a
longer text is split into parts of 153 (each part carries a header); the extension characters
(``^{}[]~|€\\`` and form feed) take two places each. Anything else, Chinese included, sends the
whole text as UCS-2: 70 per SMS, 67 per part, and a character beyond the Basic Multilingual
Plane (most emoji) takes two places. The console's composer counts the same way in
``campaigns/static/campaigns/email_editor.js``.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True)
class SmsLength:
    encoding: str  # "GSM-7" or "UCS-2"
    characters: int  # places taken, as the network counts them
    segments: int


def measure(text: str) -> SmsLength:
    if all(c in GSM_BASIC or c in GSM_EXTENDED for c in text):
        places = sum(2 if c in GSM_EXTENDED else 1 for c in text)
        single, part, encoding = 160, 153, "GSM-7"
    else:
        places = sum(2 if ord(c) > 0xFFFF else 1 for c in text)
        single, part, encoding = 70, 67, "UCS-2"
    if places == 0:
        return SmsLength(encoding, 0, 0)
    segments = 1 if places <= single else -(-places // part)
    return SmsLength(encoding, places, segments)
