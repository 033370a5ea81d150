"""Re-identification of a department's own patients, opt-in (issue 15).

With a second secret ``MYELOMA_AUDIT_REID_KEY`` (at least 32 bytes, not the pseudonym key)
ingest keeps each valid CPR number of ``patients.csv`` encrypted in the table
``reid_vault (pseudonym, sealed)``: AES-256-GCM (the ``cryptography`` package) with a key
derived from the secret by HKDF-SHA256, a fresh 96-bit nonce per row, and the pseudonym as
associated data (a sealed CPR moved to another pseudonym does not open). No clear CPR is
ever written to a table. Only the department publishing step opens the vault, and only for
the patients of each department's own lists (``departments/<code>/``).

Without the key nothing is sealed and the lists show pseudonyms. The key is read from the
environment only (never a command-line option or a run configuration field), never printed
or stored.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import duckdb
import polars as pl

from pipelines.lib.errors import AuditError
from pipelines.lib.pseudonym import KEY_ENV, KEY_HINT, MIN_KEY_BYTES, WeakKeyError

REID_KEY_ENV = "MYELOMA_AUDIT_REID_KEY"
TABLE = "reid_vault"
NONCE_BYTES = 12
_SALT = b"myeloma-audit re-identification vault v1"
# For the clinicians who read the list (the registry's data managers find how in README.md)
PSEUDONYMS_ONLY = ("Listen viser pseudonymer (P…), ikke CPR-numre: genidentifikation er ikke slået til for denne "
                  "kørsel. Kontakt registret (den nationale myelomatosedatabase), som kan danne listen med "
                  "CPR-nummer; kun afdelingens egne patienter vises da med CPR-nummer, og kun i afdelingens egen mappe.")


class VaultError(AuditError):
    """The vault cannot be opened with the key given (another key, or a damaged row)."""


def reid_key_from_env() -> bytes | None:
    """``MYELOMA_AUDIT_REID_KEY`` when set, held to the pseudonym key's minimum strength and
    refused when it is the pseudonym key itself (two secrets, kept apart)."""
    value = os.environ.get(REID_KEY_ENV)
    if not value:
        return None
    key = value.encode("utf-8")
    if len(key) < MIN_KEY_BYTES:
        raise WeakKeyError(
            f"{REID_KEY_ENV} is {len(key)} bytes long; the re-identification key must be at least {MIN_KEY_BYTES} "
            f"bytes of random data (it decrypts every patient's CPR number). Generate one with: {KEY_HINT}")
    if value == os.environ.get(KEY_ENV):
        raise WeakKeyError(f"{REID_KEY_ENV} must not be the pseudonym key {KEY_ENV}: keep two secrets apart. "
                           f"Generate another with: {KEY_HINT}")
    return key


class Vault:
    """Seal and open CPR numbers under one re-identification key."""

    def __init__(self, key: bytes):
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=b"cpr").derive(key)
        self._aead = AESGCM(derived)

    def seal(self, pseudonym: str, cpr: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, cpr.encode("ascii"), pseudonym.encode("ascii"))

    def open(self, pseudonym: str, sealed: bytes) -> str:
        from cryptography.exceptions import InvalidTag

        try:
            return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], pseudonym.encode("ascii")).decode()
        except InvalidTag:
            raise VaultError(f"{REID_KEY_ENV} does not open the re-identification vault of this run (another key "
                             "than the one the delivery was read with, or a damaged row); nothing was published") from None


def write_vault(con: duckdb.DuckDBPyConnection, pairs: Iterable[tuple[str, str]], key: bytes,
                patients_table: str = "raw_patients") -> int:
    """``reid_vault``: every (pseudonym, CPR) of ``pairs`` whose pseudonym is a patient's
    valid CPR in ``patients_table``, sealed. Returns the number of rows."""
    wanted = {r[0] for r in con.execute(
        f"select distinct pseudonym from {patients_table} where _cpr_status = 'valid'").fetchall()}
    vault = Vault(key)
    rows = sorted((p, c) for p, c in pairs if p in wanted)
    frame = pl.DataFrame({"pseudonym": [p for p, _ in rows], "sealed": [vault.seal(p, c) for p, c in rows]},
                         schema={"pseudonym": pl.String, "sealed": pl.Binary})
    con.execute(f"create or replace table {TABLE} (pseudonym varchar primary key, sealed blob not null)")
    con.register("vault_frame", frame)
    try:
        con.execute(f"insert into {TABLE} select pseudonym, sealed from vault_frame")
    finally:
        con.unregister("vault_frame")
    return frame.height


def has_vault(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.execute("select count(*) from information_schema.tables where table_name = ?",
                            [TABLE]).fetchall()[0][0])


def open_cprs(con: duckdb.DuckDBPyConnection, pseudonyms: Iterable[str], key: bytes) -> dict[str, str]:
    """pseudonym → CPR (``ddmmyy-xxxx``) for those of ``pseudonyms`` in the vault."""
    wanted = pl.DataFrame({"pseudonym": sorted(set(pseudonyms))}, schema={"pseudonym": pl.String})
    if not wanted.height or not has_vault(con):
        return {}
    con.register("vault_wanted", wanted)
    try:
        rows = con.execute(f"select v.pseudonym, v.sealed from {TABLE} v join vault_wanted w using (pseudonym)").fetchall()
    finally:
        con.unregister("vault_wanted")
    vault = Vault(key)
    out = {}
    for pseudonym, sealed in rows:
        cpr = vault.open(pseudonym, bytes(sealed))
        out[pseudonym] = f"{cpr[:6]}-{cpr[6:]}"
    return out
