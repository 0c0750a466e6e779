"""A planted-PII test set, generated deterministically: sentences holding one PII value or one look-alike.

Every PII value is valid for its kind (Luhn-valid cards, mod-97-valid IBANs, SSNs outside the
never-issued ranges, NINOs with allowed prefixes, phone numbers of real numbering plans, emails);
every decoy looks like one (Luhn-failing card numbers, IBANs with wrong check digits, SSNs in
never-issued ranges, NINOs with forbidden prefixes, impossible phone numbers, order numbers, dates,
IP and version numbers, amounts, email-like text without a domain, team mailboxes such as
``security@...``, which name no person). Used by
``bench/pii_redaction.py`` (recall and precision) and by ``tests/ingest/test_pii.py``.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from dataclasses import dataclass

from stdnum import iban as iban_mod
from stdnum import luhn

from ingest.pii import Match

__all__ = ["Item", "Score", "planted_set", "score"]

FIRST = ["anna", "ben", "chloe", "dev", "elif", "farid", "grace", "hugo", "ines", "jonas", "kemi", "liam"]
LAST = ["smith", "okafor", "nguyen", "garcia", "muller", "rossi", "kowalski", "tanaka", "dubois", "silva"]
DOMAINS = ["example.com", "corp.example.org", "mail.example.co.uk", "example.de", "hr.example.net"]
US_AREAS = ["212", "415", "617", "312", "206", "303", "404", "512", "646", "718", "202", "213"]
TEMPLATES = [
    "For questions contact {v} before the end of the month.",
    "The claim was filed with reference {v} and approved.",
    "Employee record: {v}; keep it on file for seven years.",
    "Please send the form to {v} together with your receipts.",
    "Payment details ({v}) were updated by the payroll team.",
    "As agreed, {v} is listed in the emergency contact sheet.",
]


@dataclass(frozen=True, slots=True)
class Item:
    """One sentence; ``value`` sits in it at ``text.index(value)``; ``kind`` None marks a decoy."""

    text: str
    value: str
    kind: str | None


def _email(r: random.Random) -> str:
    sep = r.choice([".", "_", "-", ""])
    tag = r.choice(["", "", "+hr", "+2024"])
    return f"{r.choice(FIRST)}{sep}{r.choice(LAST)}{tag}@{r.choice(DOMAINS)}"


def _phone(r: random.Random) -> str:
    area, exch, line = r.choice(US_AREAS), f"{r.randint(2, 9)}{r.randint(0, 9)}{r.randint(0, 9)}", r.randint(0, 9999)
    style = r.randrange(8)
    if style == 0:
        return f"({area}) {exch}-{line:04d}"
    if style == 1:
        return f"{area}-{exch}-{line:04d}"
    if style == 2:
        return f"+1 {area} {exch} {line:04d}"
    if style == 3:
        return f"{area}.{exch}.{line:04d}"
    if style == 4:
        return f"+44 20 7946 {r.randint(0, 999):04d}"
    if style == 5:
        return f"+44 7911 {r.randint(0, 999999):06d}"
    if style == 6:
        return f"+49 30 {r.randint(2000000, 9999999)}"
    return f"+33 1 {r.randint(10, 99)} {r.randint(10, 99)} {r.randint(10, 99)} {r.randint(10, 99)}"


def _luhn_number(r: random.Random, prefix: str, length: int, valid: bool = True) -> str:
    body = prefix + "".join(r.choice(string.digits) for _ in range(length - len(prefix) - 1))
    check = luhn.calc_check_digit(body)
    if not valid:
        check = str((int(check) + r.randint(1, 9)) % 10)
    return body + check


def _group(number: str, sizes: list[int], sep: str) -> str:
    parts, i = [], 0
    for size in sizes:
        parts.append(number[i : i + size])
        i += size
    return sep.join(parts)


def _card(r: random.Random, valid: bool = True) -> str:
    kind = r.randrange(3)
    if kind == 2:
        number = _luhn_number(r, r.choice(["34", "37"]), 15, valid)
        return _group(number, [4, 6, 5], r.choice([" ", "-", ""]))
    number = _luhn_number(r, "4" if kind == 0 else str(r.randint(51, 55)), 16, valid)
    return _group(number, [4, 4, 4, 4], r.choice([" ", "-", ""]))


def _bban(r: random.Random, country: str) -> str:
    digits: Callable[[int], str] = lambda n: "".join(r.choice(string.digits) for _ in range(n))  # noqa: E731
    letters: Callable[[int], str] = lambda n: "".join(r.choice(string.ascii_uppercase) for _ in range(n))  # noqa: E731
    return {
        "GB": lambda: letters(4) + digits(14),
        "DE": lambda: digits(18),
        "NL": lambda: letters(4) + digits(10),
        "IE": lambda: letters(4) + digits(14),
        "FR": lambda: digits(10) + digits(11) + digits(2),
    }[country]()


def _iban(r: random.Random, valid: bool = True) -> str:
    country = r.choice(["GB", "DE", "NL", "IE", "FR"])
    bban = _bban(r, country)
    check = iban_mod.calc_check_digits(country + "00" + bban)
    if not valid:
        check = f"{(int(check) + r.randint(1, 96)) % 97 + 2:02d}"[-2:]
    compact = country + check + bban
    if not valid and iban_mod.is_valid(compact):
        compact = country + f"{(int(check) + 1) % 100:02d}" + bban
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4)) if r.random() < 0.6 else compact


def _ssn(r: random.Random) -> str:
    area = r.choice([r.randint(1, 665), r.randint(667, 899)])
    return f"{area:03d}-{r.randint(1, 99):02d}-{r.randint(1, 9999):04d}"


_NINO_FIRST = [c for c in string.ascii_uppercase if c not in "DFIQUV"]
_NINO_SECOND = [c for c in string.ascii_uppercase if c not in "DFIOQUV"]


def _nino(r: random.Random) -> str:
    while True:
        prefix = r.choice(_NINO_FIRST) + r.choice(_NINO_SECOND)
        if prefix not in {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}:
            break
    digits = [f"{r.randint(0, 99):02d}" for _ in range(3)]
    suffix = r.choice("ABCD")
    return f"{prefix} {' '.join(digits)} {suffix}" if r.random() < 0.6 else f"{prefix}{''.join(digits)}{suffix}"


def _decoy(r: random.Random) -> str:
    style = r.randrange(13)
    if style == 0:
        return _card(r, valid=False)
    if style == 1:
        return _iban(r, valid=False)
    if style == 2:
        return f"{r.choice(['000', '666', '900', '987'])}-{r.randint(1, 99):02d}-{r.randint(1, 9999):04d}"
    if style == 3:
        return f"{r.choice(['QQ', 'GB', 'DA', 'FO'])} {r.randint(10, 99)} {r.randint(10, 99)} {r.randint(10, 99)} A"
    if style == 4:
        return f"123-{r.randint(100, 999)}-{r.randint(1000, 9999)}"  # area code 123 does not exist
    if style == 5:
        return f"ORD-{r.randint(2019, 2026)}-{r.randint(0, 999999):06d}"
    if style == 6:
        return f"{r.randint(2019, 2026)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}"
    if style == 7:
        return f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"
    if style == 8:
        return f"v{r.randint(1, 9)}.{r.randint(0, 30)}.{r.randint(0, 9)}"
    if style == 9:
        return f"${r.randint(1, 999)},{r.randint(100, 999)}.{r.randint(10, 99)}"
    if style == 10:
        return f"{r.choice(FIRST)}@{r.choice(['localhost', 'intranet', 'team'])}"
    if style == 11:
        return f"{r.choice(['security', 'hr', 'payroll', 'it-helpdesk', 'privacy'])}@{r.choice(DOMAINS)}"
    return f"section {r.randint(1, 12)}.{r.randint(1, 9)}.{r.randint(1, 20)} of policy {r.randint(100, 999)}"


_KINDS = {"email": _email, "phone": _phone, "card": _card, "iban": _iban, "ssn": _ssn, "nino": _nino}


def planted_set(seed: int = 5, per_kind: int = 40, decoys: int = 160) -> list[Item]:
    """``per_kind`` PII sentences for each of the six kinds and ``decoys`` look-alike sentences, shuffled."""
    r = random.Random(seed)
    items: list[Item] = []
    for kind, make in _KINDS.items():
        for _ in range(per_kind):
            value = make(r)
            items.append(Item(r.choice(TEMPLATES).format(v=value), value, kind))
    for _ in range(decoys):
        value = _decoy(r)
        items.append(Item(r.choice(TEMPLATES).format(v=value), value, None))
    r.shuffle(items)
    return items


@dataclass
class Score:
    """Redaction quality on a planted set: a planted value counts as found when a match of its kind covers it."""

    found: dict[str, int]
    missed: dict[str, int]
    false_positives: int
    misses: list[Item]
    wrong: list[tuple[Item, str]]

    @property
    def recall(self) -> float:
        total = sum(self.found.values()) + sum(self.missed.values())
        return sum(self.found.values()) / total if total else 1.0

    @property
    def precision(self) -> float:
        found = sum(self.found.values())
        return found / (found + self.false_positives) if found + self.false_positives else 1.0


def score(items: list[Item], find: Callable[[str], list[Match]]) -> Score:
    """Run ``find`` (e.g. ``Redactor().find``) on every sentence and count hits, misses, false positives.

    A match that does not cover a planted value of its own kind (a decoy, the sentence around it,
    or a value of another kind) is a false positive.
    """
    found = {kind: 0 for kind in _KINDS}
    missed = {kind: 0 for kind in _KINDS}
    false_positives = 0
    misses: list[Item] = []
    wrong: list[tuple[Item, str]] = []
    for item in items:
        start = item.text.index(item.value)
        end = start + len(item.value)
        matches = find(item.text)
        good = [m for m in matches if item.kind == m.kind and m.start <= start and m.end >= end]
        for m in matches:
            if m not in good:
                false_positives += 1
                wrong.append((item, f"{m.kind}: {item.text[m.start : m.end]}"))
        if item.kind is not None:
            if good:
                found[item.kind] += 1
            else:
                missed[item.kind] += 1
                misses.append(item)
    return Score(found, missed, false_positives, misses, wrong)
