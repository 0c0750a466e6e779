"""PII redaction at ingestion: find personal data in normalized text and replace it before chunking.

Kinds and how each is confirmed (regular expressions only find candidates; a library checks them):

- ``email``: an address-shaped token (``local@domain.tld``), except role mailboxes
  (``security@``, ``hr@`` ...: :data:`ROLE_MAILBOXES`, after RFC 2142), which name a team, not a person.
- ``card``: 13-19 digits, optionally grouped by spaces or dashes, passing the Luhn check
  (``stdnum.luhn``).
- ``iban``: a country code, two check digits and 11-30 letters or digits, optionally grouped by
  fours, valid by ``stdnum.iban`` (country length and the mod-97 check).
- ``ssn``: a US Social Security number written ``123-45-6789`` (or with spaces), valid by
  ``stdnum.us.ssn`` (no 000/666/9xx area, no 00 group, no 0000 serial, not a known advertised one).
- ``nino``: a UK National Insurance number (``AB 12 34 56 C``), checked against HMRC's prefix rules
  (no D, F, I, Q, U, V first; no D, F, I, O, Q, U, V second; not BG, GB, KN, NK, NT, TN, ZZ).
- ``phone``: numbers ``phonenumbers.PhoneNumberMatcher`` finds with ``Leniency.STRICT_GROUPING``:
  valid for their numbering plan and written with that plan's digit grouping (or none), so an
  order number such as ``ORD-2025-552083`` is not taken for a US number. International ``+``
  numbers are found for any country, national ones for each of ``phone_regions``.

Values listed in ``keep`` (a published hotline, say) are never redacted. Redacted values are
replaced by ``[REDACTED <KIND>]``; :class:`Redaction` maps offsets of the
original text to the redacted text, so page spans can follow.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import phonenumbers
from stdnum import iban, luhn
from stdnum.us import ssn

__all__ = ["PII_KINDS", "ROLE_MAILBOXES", "Match", "Redaction", "Redactor", "placeholder"]

PII_KINDS: tuple[str, ...] = ("email", "iban", "card", "ssn", "nino", "phone")
"""Every kind, in the order they claim text (an earlier kind wins an overlap)."""

_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}\b"
)
_CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])")
_SSN = re.compile(r"(?<![\w-])\d{3}[- ]\d{2}[- ]\d{4}(?![\w-])")
_NINO = re.compile(r"(?<![A-Za-z0-9])([A-Z])([A-Z]) ?(\d{2}) ?(\d{2}) ?(\d{2}) ?([A-D])(?![A-Za-z0-9])")
ROLE_MAILBOXES: frozenset[str] = frozenset(
    {
        # RFC 2142
        "info", "marketing", "sales", "support", "abuse", "noc", "security", "postmaster", "hostmaster",
        "usenet", "news", "webmaster", "www", "uucp", "ftp",
        # common team mailboxes
        "admin", "billing", "careers", "compliance", "contact", "facilities", "finance", "help", "helpdesk",
        "hr", "it", "it-helpdesk", "it-support", "jobs", "legal", "noreply", "no-reply", "office", "payroll",
        "people", "press", "privacy", "procurement", "reception", "recruiting", "servicedesk", "travel", "trust",
    }
)  # fmt: skip
"""Local parts of email addresses that name a team or a function, not a person (not redacted)."""

_NINO_BAD_PREFIXES = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})


def placeholder(kind: str) -> str:
    """The text a redacted value of ``kind`` becomes."""
    return f"[REDACTED {kind.upper()}]"


@dataclass(frozen=True, slots=True)
class Match:
    """One PII value found at ``text[start:end]``."""

    kind: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Redaction:
    """A redacted text, what was redacted (by kind and where) and an offset map to the new text."""

    text: str
    matches: list[Match] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        """Redactions by kind (only kinds that occurred)."""
        return dict(sorted(Counter(m.kind for m in self.matches).items()))

    def map_offset(self, offset: int) -> int:
        """Where character ``offset`` of the original text is in the redacted text.

        An offset inside a redacted value maps to the start of its placeholder.
        """
        shift = 0
        for m in self.matches:
            if offset < m.start:
                break
            if offset < m.end:
                return m.start + shift
            shift += len(placeholder(m.kind)) - (m.end - m.start)
        return offset + shift


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def _emails(text: str) -> Iterator[tuple[int, int]]:
    for m in _EMAIL.finditer(text):
        if m.group().split("@", 1)[0].lower() not in ROLE_MAILBOXES:
            yield m.start(), m.end()


def _cards(text: str) -> Iterator[tuple[int, int]]:
    for m in _CARD.finditer(text):
        digits = _digits(m.group())
        if 13 <= len(digits) <= 19 and luhn.is_valid(digits) and len(set(digits)) > 1:
            yield m.start(), m.end()


def _ibans(text: str) -> Iterator[tuple[int, int]]:
    for m in _IBAN.finditer(text):
        value = m.group()
        # The pattern may run into a following word; try the longest prefix that validates.
        for end in range(len(value), 14, -1):
            if value[end - 1] != " " and iban.is_valid(value[:end]):
                yield m.start(), m.start() + end
                break


def _ssns(text: str) -> Iterator[tuple[int, int]]:
    for m in _SSN.finditer(text):
        if ssn.is_valid(_digits(m.group())):
            yield m.start(), m.end()


def _ninos(text: str) -> Iterator[tuple[int, int]]:
    for m in _NINO.finditer(text):
        first, second = m.group(1), m.group(2)
        if first in "DFIQUV" or second in "DFIOQUV" or first + second in _NINO_BAD_PREFIXES:
            continue
        yield m.start(), m.end()


class Redactor:
    """Finds and replaces PII of the configured kinds (all of :data:`PII_KINDS` by default).

    Guarantee: no span that one of the kinds' checks confirms is left in :meth:`redact`'s text.
    """

    def __init__(
        self,
        kinds: tuple[str, ...] = PII_KINDS,
        *,
        phone_regions: tuple[str, ...] = ("US", "GB"),
        keep: tuple[str, ...] = (),
    ) -> None:
        unknown = set(kinds) - set(PII_KINDS)
        if unknown:
            raise ValueError(f"unknown PII kinds {sorted(unknown)}; use {', '.join(PII_KINDS)}")
        bad = [r for r in phone_regions if r not in phonenumbers.SUPPORTED_REGIONS]
        if bad or not phone_regions:
            raise ValueError(f"unknown phone regions {bad}; use ISO 3166 codes such as US, GB, DE")
        self.kinds = tuple(k for k in PII_KINDS if k in kinds)
        self.phone_regions = tuple(phone_regions)
        # Numbers are kept whatever their spacing (compared by digits); other values exactly.
        self.keep = frozenset(v.strip() for v in keep if v.strip()) | frozenset(
            _digits(v) for v in keep if _digits(v) and _digits(v) == re.sub(r"[\s().+-]", "", v)
        )
        self._finders: dict[str, Callable[[str], Iterator[tuple[int, int]]]] = {
            "email": _emails,
            "iban": _ibans,
            "card": _cards,
            "ssn": _ssns,
            "nino": _ninos,
            "phone": self._phones,
        }

    def _phones(self, text: str) -> Iterator[tuple[int, int]]:
        seen: set[tuple[int, int]] = set()
        for region in self.phone_regions:
            for m in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.STRICT_GROUPING):
                if (m.start, m.end) not in seen:
                    seen.add((m.start, m.end))
                    yield m.start, m.end

    def find(self, text: str) -> list[Match]:
        """Every PII value in ``text``, by position; overlaps go to the kind listed first."""
        taken: list[tuple[int, int]] = []
        found: list[Match] = []
        for kind in self.kinds:
            for start, end in self._finders[kind](text):
                value = text[start:end]
                if self.keep and (value in self.keep or (_digits(value) or value) in self.keep):
                    continue
                i = bisect.bisect_left(taken, (start, end))
                before = taken[i - 1] if i > 0 else None
                after = taken[i] if i < len(taken) else None
                if (before and before[1] > start) or (after and after[0] < end):
                    continue
                taken.insert(i, (start, end))
                found.append(Match(kind, start, end))
        return sorted(found, key=lambda m: m.start)

    def redact(self, text: str) -> Redaction:
        """``text`` with every PII value replaced by its placeholder."""
        matches = self.find(text)
        if not matches:
            return Redaction(text=text)
        parts: list[str] = []
        cursor = 0
        for m in matches:
            parts.append(text[cursor : m.start])
            parts.append(placeholder(m.kind))
            cursor = m.end
        parts.append(text[cursor:])
        return Redaction(text="".join(parts), matches=matches)
