"""Pseudonyms per the indicator spec: ``"P" + first 16 hex of HMAC-SHA256(key, cpr)``."""

from __future__ import annotations

import hashlib
import hmac
import os
import re

from pipelines.lib.errors import AuditError

KEY_ENV = "MYELOMA_AUDIT_KEY"


class MissingKeyError(AuditError):
    pass


def pseudonym(key: bytes, cpr: str) -> str:
    return "P" + hmac.new(key, cpr.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


class Pseudonymiser:
    """Pseudonyms for one delivery: the keyed HMAC state is prepared once and every CPR is
    hashed once, however many files and rows it appears in."""

    def __init__(self, key: bytes):
        self._keyed = hmac.new(key, digestmod=hashlib.sha256)
        self._known: dict[str, str] = {}

    def __call__(self, cpr: str) -> str:
        found = self._known.get(cpr)
        if found is None:
            h = self._keyed.copy()
            h.update(cpr.encode("utf-8"))
            found = self._known[cpr] = "P" + h.hexdigest()[:16]
        return found

    def many(self, cprs: list[str]) -> list[str]:
        known = self._known
        return [known.get(c) or self(c) for c in cprs]


def key_from_env(required: bool = True) -> bytes | None:
    value = os.environ.get(KEY_ENV)
    if value:
        return value.encode("utf-8")
    if required:
        raise MissingKeyError(
            f"{KEY_ENV} is not set. The pseudonym key is required for every delivery other "
            "than the bundled sample; set it in the environment (it is never printed)."
        )
    return None


# A CPR-shaped token: 6 + 4 digits, optionally hyphenated, not part of a longer word
# (so the digits inside a pseudonym such as P1234567890abcdef do not count).
CPR_LIKE = re.compile(r"(?<![0-9A-Za-z])(\d{6})-?(\d{4})(?![0-9A-Za-z])")


def scrub(text: str) -> str:
    """Mask anything shaped like a CPR number in a message meant for a person."""
    return CPR_LIKE.sub("<cpr>", text)
