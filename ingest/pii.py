"""PII redaction at ingestion: find personal data in normalized text and replace it before chunking.

Kinds and how each is confirmed (regular expressions only find candidates; a library checks them):

- ``email``: an address-shaped token (``local@domain.tld``).
- ``card``: 13-19 digits passing the Luhn check (``stdnum.luhn``), written as cards are (no
  separators, or groups of four with a shorter last group, or 4-6-5 / 4-6-4), whose first digit is
  a card industry's (2-6, ISO/IEC 7812); so an OMB collection number such as ``202208-3090-003``,
  a decimal's fraction or a 1... timestamp is not a card.
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

Digits inside a web address (``https://...``, ``www...``: article ids, spreadsheet ids, tracking
parameters) are never taken for a card or a phone number.

What is kept is decided by :class:`ingest.contacts.ContactPoints`: listed values, role mailboxes
and the organisation's domains, hotlines and numbers published in several documents
(:meth:`Redactor.for_documents` derives those from a corpus). Redacted values are replaced by
``[REDACTED <KIND>]``; :class:`Redaction` says what was redacted and kept, by kind, and maps
offsets of the original text to the redacted text, so page spans can follow.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import phonenumbers
from stdnum import iban, luhn
from stdnum.us import ssn

from ingest.contacts import ROLE_MAILBOXES, ContactPoints

__all__ = ["PII_KINDS", "ROLE_MAILBOXES", "Match", "Redaction", "Redactor", "placeholder"]

PII_KINDS: tuple[str, ...] = ("email", "iban", "card", "ssn", "nino", "phone")
"""Every kind, in the order they claim text (an earlier kind wins an overlap)."""

_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}\b"
)
_CARD = re.compile(r"(?<![\w-])(?<!\d[.,])\d(?:[ -]?\d){12,18}(?![\w-])")
_CARD_GROUPS = re.compile(r"^\d{13,19}$|^(?:\d{4}[ -]){2,4}\d{1,4}$|^\d{4}[ -]\d{6}[ -]\d{4,5}$")
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])")
_SSN = re.compile(r"(?<![\w-])\d{3}[- ]\d{2}[- ]\d{4}(?![\w-])")
_NINO = re.compile(r"(?<![A-Za-z0-9])([A-Z])([A-Z]) ?(\d{2}) ?(\d{2}) ?(\d{2}) ?([A-D])(?![A-Za-z0-9])")
_NINO_BAD_PREFIXES = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'\]]+", re.IGNORECASE)
_HOTLINE_TYPES = frozenset(
    {phonenumbers.PhoneNumberType.TOLL_FREE, phonenumbers.PhoneNumberType.SHARED_COST, phonenumbers.PhoneNumberType.UAN}
)


def placeholder(kind: str) -> str:
    """The text a redacted value of ``kind`` becomes."""
    return f"[REDACTED {kind.upper()}]"


@dataclass(frozen=True, slots=True)
class Match:
    """One PII value found at ``text[start:end]``; ``kept`` names why it stays (None: it is redacted)."""

    kind: str
    start: int
    end: int
    kept: str | None = None


@dataclass(frozen=True, slots=True)
class Redaction:
    """A redacted text, what was redacted and kept (by kind and where) and an offset map to the new text."""

    text: str
    matches: list[Match] = field(default_factory=list)
    kept: list[Match] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        """Redactions by kind (only kinds that occurred)."""
        return dict(sorted(Counter(m.kind for m in self.matches).items()))

    @property
    def kept_counts(self) -> dict[str, int]:
        """Values kept as published contact points (or listed), by kind."""
        return dict(sorted(Counter(m.kind for m in self.kept).items()))

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


def _url_spans(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in _URL.finditer(text)]


def _in_spans(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    """Whether ``[start, end)`` overlaps one of ``spans`` (sorted, disjoint)."""
    i = bisect.bisect_left(spans, (end, end))
    return i > 0 and spans[i - 1][1] > start


_Found = tuple[int, int, str | None]
"""A confirmed value: (start, end, its international number for phones)."""


def _emails(text: str) -> Iterator[_Found]:
    for m in _EMAIL.finditer(text):
        yield m.start(), m.end(), None


def _cards(text: str) -> Iterator[_Found]:
    urls = _url_spans(text)
    for m in _CARD.finditer(text):
        digits = _digits(m.group())
        if (
            13 <= len(digits) <= 19
            and digits[0] in "23456"
            and _CARD_GROUPS.match(m.group())
            and luhn.is_valid(digits)
            and len(set(digits)) > 1
            and not _in_spans(urls, m.start(), m.end())
        ):
            yield m.start(), m.end(), None


def _ibans(text: str) -> Iterator[_Found]:
    for m in _IBAN.finditer(text):
        value = m.group()
        # The pattern may run into a following word; try the longest prefix that validates.
        for end in range(len(value), 14, -1):
            if value[end - 1] != " " and iban.is_valid(value[:end]):
                yield m.start(), m.start() + end, None
                break


def _ssns(text: str) -> Iterator[_Found]:
    for m in _SSN.finditer(text):
        if ssn.is_valid(_digits(m.group())):
            yield m.start(), m.end(), None


def _ninos(text: str) -> Iterator[_Found]:
    for m in _NINO.finditer(text):
        first, second = m.group(1), m.group(2)
        if first in "DFIQUV" or second in "DFIOQUV" or first + second in _NINO_BAD_PREFIXES:
            continue
        yield m.start(), m.end(), None


class Redactor:
    """Finds and replaces PII of the configured kinds (all of :data:`PII_KINDS` by default).

    Guarantee: every span that one of the kinds' checks confirms is either replaced in
    :meth:`redact`'s text or kept for a reason :class:`ContactPoints` gives (listed values always;
    role mailboxes, the organisation's domains, hotlines and numbers in several documents).
    """

    def __init__(
        self,
        kinds: tuple[str, ...] = PII_KINDS,
        *,
        phone_regions: tuple[str, ...] = ("US", "GB"),
        keep: tuple[str, ...] = (),
        min_documents: int = 2,
        contacts: ContactPoints | None = None,
    ) -> None:
        unknown = set(kinds) - set(PII_KINDS)
        if unknown:
            raise ValueError(f"unknown PII kinds {sorted(unknown)}; use {', '.join(PII_KINDS)}")
        bad = [r for r in phone_regions if r not in phonenumbers.SUPPORTED_REGIONS]
        if bad or not phone_regions:
            raise ValueError(f"unknown phone regions {bad}; use ISO 3166 codes such as US, GB, DE")
        self.kinds = tuple(k for k in PII_KINDS if k in kinds)
        self.phone_regions = tuple(phone_regions)
        self.contacts = contacts or ContactPoints.configured(keep, min_documents)
        self._finders: dict[str, Callable[[str], Iterator[_Found]]] = {
            "email": _emails,
            "iban": _ibans,
            "card": _cards,
            "ssn": _ssns,
            "nino": _ninos,
            "phone": self._phones,
        }

    def _phones(self, text: str) -> Iterator[_Found]:
        seen: set[tuple[int, int]] = set()
        urls = _url_spans(text)
        for region in self.phone_regions:
            for m in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.STRICT_GROUPING):
                if (m.start, m.end) not in seen and not _in_spans(urls, m.start, m.end):
                    seen.add((m.start, m.end))
                    number = phonenumbers.format_number(m.number, phonenumbers.PhoneNumberFormat.E164)
                    yield m.start, m.end, _digits(number)

    def _is_hotline(self, international: str) -> bool:
        parsed = phonenumbers.parse("+" + international)
        return phonenumbers.number_type(parsed) in _HOTLINE_TYPES

    def _kept(self, kind: str, value: str, international: str | None) -> str | None:
        if kind == "email":
            return self.contacts.email(value)
        if kind == "phone":
            hotline = international is not None and self._is_hotline(international)
            return self.contacts.number(_digits(value), international, hotline)
        return self.contacts.other(value.strip(), _digits(value))

    def scan(self, text: str) -> list[Match]:
        """Every PII value in ``text`` by position, redacted and kept; overlaps go to the kind listed first."""
        taken: list[tuple[int, int]] = []
        found: list[Match] = []
        for kind in self.kinds:
            for start, end, international in self._finders[kind](text):
                i = bisect.bisect_left(taken, (start, end))
                before = taken[i - 1] if i > 0 else None
                after = taken[i] if i < len(taken) else None
                if (before and before[1] > start) or (after and after[0] < end):
                    continue
                taken.insert(i, (start, end))
                found.append(Match(kind, start, end, self._kept(kind, text[start:end], international)))
        return sorted(found, key=lambda m: m.start)

    def find(self, text: str) -> list[Match]:
        """The PII values in ``text`` that are redacted (not kept), by position."""
        return [m for m in self.scan(text) if m.kept is None]

    def published(self, text: str) -> tuple[set[str], set[str]]:
        """The email addresses (lower-cased) and phone numbers (international digits) ``text`` holds."""
        addresses = {text[s:e].lower() for s, e, _ in _emails(text)} if "email" in self.kinds else set()
        numbers = {n for _, _, n in self._phones(text) if n} if "phone" in self.kinds else set()
        return addresses, numbers

    def for_documents(self, texts: Iterable[str]) -> Redactor:
        """This redactor with the contact points the corpus ``texts`` publishes added (see ``ContactPoints``)."""
        if self.contacts.min_documents < 1:
            return self
        derived = self.contacts.derive(self.published(t) for t in texts)
        return Redactor(self.kinds, phone_regions=self.phone_regions, contacts=derived)

    def redact(self, text: str) -> Redaction:
        """``text`` with every PII value that is not kept replaced by its placeholder."""
        scanned = self.scan(text)
        matches = [m for m in scanned if m.kept is None]
        kept = [m for m in scanned if m.kept is not None]
        if not matches:
            return Redaction(text=text, kept=kept)
        parts: list[str] = []
        cursor = 0
        for m in matches:
            parts.append(text[cursor : m.start])
            parts.append(placeholder(m.kind))
            cursor = m.end
        parts.append(text[cursor:])
        return Redaction(text="".join(parts), matches=matches, kept=kept)
