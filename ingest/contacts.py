"""Published contact points: which email addresses and phone numbers PII redaction keeps.

An organisation's handbook publishes role mailboxes (``people-ops@``, ``travel@``) and hotlines
that employees need; an individual's address or number is personal data. :class:`ContactPoints`
decides for one found value, by the first rule that applies:

1. ``listed``: the value is configured to be kept (addresses exactly, numbers in any spacing, and
   ``@domain`` entries, which make a domain the organisation's own).
2. An address whose local part reads as a person's name (``jane.doe``, ``jane_doe``: two or three
   alphabetic words joined by ``.`` or ``_``, none of them a role word) is redacted, whatever its
   domain or how often it occurs.
3. ``role``: an address whose local part is a role mailbox (RFC 2142 and common team names,
   :data:`ROLE_MAILBOXES`) or is made of words one of which is (``people-ops``, ``tts-travel``).
4. ``domain``: an address at one of the organisation's domains (or a subdomain of one), which are
   the configured ones plus, derived from the documents, every domain whose addresses occur in at
   least ``min_documents`` documents: a domain many pages cite is the organisation's own or a
   supplier it publishes.
5. ``hotline``: a toll-free, shared-cost or universal-access number (by the number's plan, e.g.
   US 800/888/877/866 numbers): such lines belong to organisations, never to one person.
6. ``published``: a number that occurs in at least ``min_documents`` documents (compared in
   international form, so ``(650) 273-5591`` and ``+1-650-273-5591`` are one number).

Anything else is redacted. Cards, IBANs and national ids are kept only when listed (rule 1).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["KEEP_REASONS", "ROLE_MAILBOXES", "ContactPoints", "domain_of", "looks_personal", "role_mailbox"]

KEEP_REASONS: tuple[str, ...] = ("listed", "role", "domain", "hotline", "published")
"""Why a value was kept, in the order the rules are tried."""

ROLE_MAILBOXES: frozenset[str] = frozenset(
    {
        # RFC 2142
        "info", "marketing", "sales", "support", "abuse", "noc", "security", "postmaster", "hostmaster",
        "usenet", "news", "webmaster", "www", "uucp", "ftp",
        # common team mailboxes
        "admin", "billing", "careers", "compliance", "contact", "facilities", "finance", "help", "helpdesk",
        "hr", "it", "it-helpdesk", "it-support", "jobs", "legal", "noreply", "no-reply", "office", "payroll",
        "people", "press", "privacy", "procurement", "reception", "recruiting", "servicedesk", "travel", "trust",
        "team", "ops", "desk", "onboarding", "benefits", "events", "inquiries", "requests", "service",
    }
)  # fmt: skip
"""Local parts (and words of local parts) that name a team or a function, not a person."""

_WORD = re.compile(r"[a-z]+|\d+")
_PERSONAL = re.compile(r"^[a-z]{2,}(?:[._][a-z]{1,}){1,2}$")


def domain_of(address: str) -> str:
    """The lower-cased domain of an email address."""
    return address.rsplit("@", 1)[-1].lower()


def _local(address: str) -> str:
    return address.rsplit("@", 1)[0].split("+", 1)[0].lower()


def role_mailbox(address: str) -> bool:
    """Whether the address's local part is a role mailbox or holds a role word (``people-ops``)."""
    local = _local(address)
    return local in ROLE_MAILBOXES or any(w in ROLE_MAILBOXES for w in _WORD.findall(local))


def looks_personal(address: str) -> bool:
    """Whether the local part reads as a person's name: ``given.family`` or ``given_family`` (no role word)."""
    local = _local(address)
    return bool(_PERSONAL.match(local)) and not role_mailbox(address)


def _under(domain: str, domains: frozenset[str]) -> bool:
    parts = domain.split(".")
    return any(".".join(parts[i:]) in domains for i in range(len(parts) - 1))


@dataclass(frozen=True, slots=True)
class ContactPoints:
    """What redaction keeps: listed values, the organisation's domains and numbers published in several documents.

    ``listed`` holds addresses (lower-cased) and numbers (digits only); ``domains`` lower-cased
    domains; ``published`` numbers (digits of the international form) found in at least
    ``min_documents`` documents of the corpus (``0`` turns deriving from documents off).
    """

    listed: frozenset[str] = field(default_factory=frozenset)
    domains: frozenset[str] = field(default_factory=frozenset)
    published: frozenset[str] = field(default_factory=frozenset)
    min_documents: int = 2

    @classmethod
    def configured(cls, keep: Iterable[str], min_documents: int = 2) -> ContactPoints:
        """From configured values: addresses, numbers (any spacing) and ``@domain`` entries."""
        listed: set[str] = set()
        domains: set[str] = set()
        for raw in keep:
            value = raw.strip()
            if value.startswith("@") and len(value) > 1:
                domains.add(value[1:].lower())
            elif "@" in value:
                listed.add(value.lower())
            elif value:
                digits = re.sub(r"\D", "", value)
                listed.add(digits if digits and digits == re.sub(r"[\s().+-]", "", value) else value)
        return cls(frozenset(listed), frozenset(domains), frozenset(), min_documents)

    def derive(self, per_document: Iterable[tuple[set[str], set[str]]]) -> ContactPoints:
        """These points plus what the corpus publishes: ``per_document`` gives each document's (addresses, numbers).

        Numbers are digits of their international form. A domain whose addresses occur in at least
        ``min_documents`` documents becomes the organisation's; so does a number as ``published``.
        """
        if self.min_documents < 1:
            return self
        domain_docs: dict[str, int] = {}
        number_docs: dict[str, int] = {}
        for addresses, numbers in per_document:
            for domain in {domain_of(a) for a in addresses}:
                domain_docs[domain] = domain_docs.get(domain, 0) + 1
            for number in numbers:
                number_docs[number] = number_docs.get(number, 0) + 1
        domains = {d for d, n in domain_docs.items() if n >= self.min_documents}
        published = {p for p, n in number_docs.items() if n >= self.min_documents}
        return ContactPoints(self.listed, self.domains | domains, self.published | published, self.min_documents)

    def email(self, address: str) -> str | None:
        """Why ``address`` is kept (one of :data:`KEEP_REASONS`), or None: redact it."""
        if address.lower() in self.listed:
            return "listed"
        if looks_personal(address):
            return None
        if role_mailbox(address):
            return "role"
        if _under(domain_of(address), self.domains):
            return "domain"
        return None

    def number(self, digits: str, international: str | None, hotline: bool) -> str | None:
        """Why a phone number is kept, or None; ``international`` is the digits of its +form when parsed."""
        if digits in self.listed or (international is not None and international in self.listed):
            return "listed"
        if hotline:
            return "hotline"
        if international is not None and international in self.published:
            return "published"
        return None

    def other(self, value: str, digits: str) -> str | None:
        """Why a card, IBAN or national id is kept: only when listed."""
        return "listed" if value in self.listed or (digits and digits in self.listed) else None
