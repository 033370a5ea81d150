"""Pseudonyms per the indicator spec: ``"P" + first 16 hex of HMAC-SHA256(key, cpr)``."""

from __future__ import annotations

import hashlib
import hmac
import os

from pipelines.lib import cpr as detector
from pipelines.lib.errors import AuditError

KEY_ENV = "MYELOMA_AUDIT_KEY"
MIN_KEY_BYTES = 32
KEY_HINT = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'


class MissingKeyError(AuditError):
    pass


class WeakKeyError(AuditError):
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

    def valid_pairs(self) -> list[tuple[str, str]]:
        """(pseudonym, CPR) of every valid CPR number hashed so far: ten ASCII digits whose
        first six are a real DDMMYY (the rule of ``raw_reader.cpr_status``). For the
        re-identification vault (``pipelines.lib.vault``), which seals them at once."""
        real = detector.REAL_DDMMYY
        return [(p, c) for c, p in self._known.items()
                if len(c) == 10 and c.isascii() and c.isdigit() and c[:6] in real]


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


def user_key_from_env() -> bytes | None:
    """The key an operator set in the environment, held to the minimum strength: with fewer
    than 4·10⁸ CPR numbers, a short or guessable key re-identifies every pseudonym. Only the
    paths an operator uses read the key this way (the command, the inbox, the sensor and
    schedules); a key passed to ``run_audit(key=...)`` in Python is the caller's business
    (tests and the spec's worked example use short ones)."""
    key = key_from_env(required=False)
    if key is not None and len(key) < MIN_KEY_BYTES:
        raise WeakKeyError(
            f"{KEY_ENV} is {len(key)} bytes long; the pseudonym key must be at least {MIN_KEY_BYTES} bytes of "
            f"random data (whoever guesses a short key can re-identify every pseudonym). Generate one with: {KEY_HINT}"
            " — and keep it: earlier results can only be compared with later ones under the same key.")
    return key


def scrub(text: str) -> str:
    """Mask anything shaped like a CPR number in a message meant for a person (the one
    detector: ``pipelines.lib.cpr``)."""
    return detector.scrub(text)
