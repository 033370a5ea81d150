"""Pseudonyms per the indicator spec: ``"P" + first 16 hex of HMAC-SHA256(key, cpr)``."""

from __future__ import annotations

import hashlib
import hmac
import os

import polars as pl

from pipelines.lib import cpr as detector
from pipelines.lib.environment import KEY_ENV
from pipelines.lib.errors import AuditError

MIN_KEY_BYTES = 32
KEY_HINT = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'


class MissingKeyError(AuditError):
    pass


class WeakKeyError(AuditError):
    pass


def pseudonym(key: bytes, cpr: str) -> str:
    return "P" + hmac.new(key, cpr.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


class Pseudonymiser:
    """Pseudonyms for one delivery: the key's HMAC pads are hashed once, every CPR is hashed
    once however many files and rows it appears in, and whole columns are mapped at once
    (``series``): only values not seen before reach Python."""

    def __init__(self, key: bytes):
        # HMAC-SHA256 by its definition (RFC 2104), with the padded key's states prepared once:
        # twice as fast per value as copying an hmac object (tested equal to hmac.new)
        block = hashlib.sha256().block_size
        padded = (hashlib.sha256(key).digest() if len(key) > block else key).ljust(block, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded)).copy
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded)).copy
        self._known: dict[str, str] = {}
        self._frame = pl.DataFrame(schema={"_value": pl.String, "_pseudonym": pl.String})

    def _hash(self, cpr: str) -> str:
        inner = self._inner()
        inner.update(cpr.encode("utf-8"))
        outer = self._outer()
        outer.update(inner.digest())
        return "P" + outer.hexdigest()[:16]

    def __call__(self, cpr: str) -> str:
        found = self._known.get(cpr)
        if found is None:
            found = self._known[cpr] = self._hash(cpr)
        return found

    def many(self, cprs: list[str]) -> list[str]:
        return [self(c) for c in cprs]

    def series(self, values: pl.Series) -> pl.Series:
        """The pseudonym of every value of ``values`` (normalised CPRs), in order."""
        frame = values.alias("_value").to_frame()
        new = frame.unique().join(self._frame, on="_value", how="anti")["_value"].to_list()
        if new:
            # values not in the frame may still be known (hashed one by one for free text): hashed
            # again, to the same pseudonym, rather than looked up value by value
            hashed = [self._hash(v) for v in new]
            self._known.update(zip(new, hashed))
            self._frame = pl.concat([self._frame, pl.DataFrame(
                {"_value": new, "_pseudonym": hashed},
                schema={"_value": pl.String, "_pseudonym": pl.String})], rechunk=True)
        return frame.join(self._frame, on="_value", how="left", maintain_order="left")["_pseudonym"]

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
