"""Personal data in training text: found by kind, and replaced with typed placeholders.

Numbers are checked, not just matched, so a port, a version or a timestamp is left alone: a
Chinese resident ID carries its ISO 7064 MOD 11-2 check digit and a real birth date, a card
number passes the Luhn check and starts like a card network's numbers, an IBAN passes its mod-97
check, and a phone number is one Google's libphonenumber (the `phonenumbers` package) calls valid.

    >>> scrub("Mail ann@example.com or call +1 650-253-0000, card 4111 1111 1111 1111.").text
    'Mail <EMAIL> or call <PHONE>, card <BANK_CARD>.'
    >>> scrub("身份证 11010519491231002X，手机 13812345678").text
    '身份证 <ID_NUMBER>，手机 <PHONE>'
    >>> scrub("port 7431, build 4111111111111112, ticket 110105194912310021").found
    ()
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

KINDS = ("EMAIL", "ID_NUMBER", "BANK_CARD", "BANK_ACCOUNT", "PHONE")
"""Each kind's placeholder is <KIND>."""

EMAIL = re.compile(r"(?<![\w.+-])(?!git@)[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
CN_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
US_SSN = re.compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])")
# Cards: 13-19 digits run together, in groups of four, or Amex's 4-6-5.
CARD = re.compile(r"(?<![\w-])(?:\d{13,19}|\d{4}(?:([ -])\d{4}){2}(?:\1\d{4})?(?:\1\d{1,3})?|\d{4}([ -])\d{6}\2\d{5})(?![\w-])")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
# Phones: international form (+ or 00), a Chinese mobile (3-4-4 or run together), a Chinese
# landline with its area code, or a US number with its separators; bare digit runs of other
# lengths are ids and hashes far more often than phones.
PHONE_CANDIDATE = re.compile(
    r"(?<![\w/#=.-])(?:(?:\+|00)\d{1,3}[ -]?(?:\(\d{1,4}\)[ -]?)?\d{1,4}(?:[ -]?\d{2,4}){1,4}"
    r"|1[3-9]\d(?:[ -]?\d{4}){2}|0\d{2,3}-\d{7,8}|(?:\(\d{3}\) ?|\d{3}[-. ])\d{3}[-. ]\d{4})(?![\w-])")
CN_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CARD_PREFIXES = re.compile(r"4|5[1-5]|2[2-7]|3[47]|35|6011|65|62|81")


@dataclass(frozen=True)
class Found:
    kind: str
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Scrubbed:
    text: str
    found: tuple[Found, ...]


def cn_id_valid(number: str) -> bool:
    """A Chinese resident ID: its check digit and its birth date (digits 7-14).

    >>> cn_id_valid("11010519491231002X"), cn_id_valid("110105194912310021")
    (True, False)
    """
    if not re.fullmatch(r"\d{17}[\dXx]", number):
        return False
    total = sum(int(digit) * weight for digit, weight in zip(number, CN_ID_WEIGHTS))
    if "10X98765432"[total % 11] != number[-1].upper():
        return False
    try:
        born = datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return datetime.date(1900, 1, 1) <= born <= datetime.date.today()


def luhn_valid(digits: str) -> bool:
    """The Luhn check card numbers carry.

    >>> luhn_valid("4111111111111111"), luhn_valid("4111111111111112")
    (True, False)
    """
    total = 0
    for i, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if i % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def iban_valid(text: str) -> bool:
    """An IBAN's mod-97 check.

    >>> iban_valid("GB82 WEST 1234 5698 7654 32"), iban_valid("GB82 WEST 1234 5698 7654 33")
    (True, False)
    """
    compact = text.replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def _card(match: re.Match) -> bool:
    digits = re.sub(r"\D", "", match.group())
    return 13 <= len(digits) <= 19 and bool(CARD_PREFIXES.match(digits)) and luhn_valid(digits)


def _phone(match: re.Match) -> bool:
    """A number libphonenumber calls valid: in international form, or Chinese or US national form."""
    import phonenumbers  # lazy: its metadata takes a moment to load, and most runs find no numbers

    text = match.group()
    digits = re.sub(r"\D", "", text)
    if len(digits) < 7 or re.fullmatch(r"\d+(?:\.\d+){1,3}", text):  # a version or an IP address
        return False
    for region in ("CN", "US") if not text.startswith(("+", "00")) else (None,):
        try:
            number = phonenumbers.parse(text if not text.startswith("00") else "+" + text[2:], region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return True
    return False


# In the order they are looked for: a span one kind takes is not looked at again.
CHECKS = (("EMAIL", EMAIL, None), ("ID_NUMBER", CN_ID, lambda m: cn_id_valid(m.group())),
          ("ID_NUMBER", US_SSN, None), ("BANK_ACCOUNT", IBAN, lambda m: iban_valid(m.group())),
          ("BANK_CARD", CARD, _card), ("PHONE", PHONE_CANDIDATE, _phone))


def find_personal(text: str) -> list[Found]:
    """Personal data in `text`, in order of position."""
    found: list[Found] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern, valid in CHECKS:
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(start < b and a < end for a, b in taken) or (valid and not valid(match)):
                continue
            found.append(Found(kind, start, end, match.group()))
            taken.append((start, end))
    return sorted(found, key=lambda item: item.start)


def scrub(text: str) -> Scrubbed:
    """`text` with each piece of personal data replaced by its placeholder (<EMAIL>, <PHONE> ...)."""
    found = find_personal(text)
    parts, last = [], 0
    for item in found:
        parts += [text[last : item.start], f"<{item.kind}>"]
        last = item.end
    return Scrubbed("".join(parts) + text[last:], tuple(found))
