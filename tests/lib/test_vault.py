"""The re-identification vault: CPR numbers sealed per pseudonym (AES-GCM), opened only with
the key, never a clear CPR in a table; the key held to 32 bytes and kept apart from the
pseudonym key."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

from pipelines.lib import vault
from pipelines.lib.pseudonym import Pseudonymiser, WeakKeyError

KEY = b"reid-test-key-0123456789abcdefghijklmnop"
PSEUDONYM_KEY = b"pseudonym-test-key-0123456789abcdefghij"
CPRS = ["0102031234", "3112991234", "1505702223"]


def raw_patients(con, pseudonymise: Pseudonymiser, extra: list[tuple[str, str]]) -> None:
    rows = [(pseudonymise(c), "valid") for c in CPRS] + extra
    frame = pl.DataFrame(rows, schema={"pseudonym": pl.String, "_cpr_status": pl.String}, orient="row")
    con.register("p", frame)
    con.execute("create table raw_patients as select * from p")
    con.unregister("p")


def test_sealed_cprs_open_only_with_the_key_and_only_for_their_pseudonym():
    sealed = vault.Vault(KEY).seal("Pabcdef0123456789", "0102031234")
    assert b"0102031234" not in sealed and len(sealed) == vault.NONCE_BYTES + 10 + 16
    assert vault.Vault(KEY).open("Pabcdef0123456789", sealed) == "0102031234"
    assert vault.Vault(KEY).seal("Pabcdef0123456789", "0102031234") != sealed, "a fresh nonce every time"
    with pytest.raises(vault.VaultError, match="does not open"):
        vault.Vault(KEY + b"x").open("Pabcdef0123456789", sealed)
    with pytest.raises(vault.VaultError):
        vault.Vault(KEY).open("P0000000000000000", sealed)  # moved to another pseudonym


def test_the_vault_holds_the_patients_valid_cprs_sealed_and_opens_for_the_pseudonyms_asked(tmp_path):
    pseudonymise = Pseudonymiser(PSEUDONYM_KEY)
    for text in ("not-a-cpr", "0000000000", "0102031238"):   # an invalid one, and a CPR only in free text
        pseudonymise(text)
    con = duckdb.connect(str(tmp_path / "a.duckdb"))
    raw_patients(con, pseudonymise, [(pseudonymise("not-a-cpr"), "invalid")])
    assert {c for _, c in pseudonymise.valid_pairs()} == {*CPRS, "0102031238"}
    assert vault.write_vault(con, pseudonymise.valid_pairs(), KEY) == len(CPRS)
    stored = con.execute(f"select * from {vault.TABLE}").fetchall()
    assert {p for p, _ in stored} == {pseudonymise(c) for c in CPRS}
    assert not any(c.encode() in bytes(s) for _, s in stored for c in CPRS)
    asked = [pseudonymise(CPRS[0]), pseudonymise(CPRS[2]), "P0000000000000000"]
    assert vault.open_cprs(con, asked, KEY) == {pseudonymise(CPRS[0]): "010203-1234",
                                                pseudonymise(CPRS[2]): "150570-2223"}
    with pytest.raises(vault.VaultError):
        vault.open_cprs(con, asked, b"another-key-0123456789abcdefghijklmnopq")


def test_the_key_is_held_to_32_bytes_and_kept_apart_from_the_pseudonym_key(monkeypatch):
    monkeypatch.delenv(vault.REID_KEY_ENV, raising=False)
    assert vault.reid_key_from_env() is None
    monkeypatch.setenv(vault.REID_KEY_ENV, "short")
    with pytest.raises(WeakKeyError, match="at least 32 bytes"):
        vault.reid_key_from_env()
    monkeypatch.setenv(vault.REID_KEY_ENV, PSEUDONYM_KEY.decode())
    monkeypatch.setenv("MYELOMA_AUDIT_KEY", PSEUDONYM_KEY.decode())
    with pytest.raises(WeakKeyError, match="must not be the pseudonym key"):
        vault.reid_key_from_env()
    monkeypatch.setenv(vault.REID_KEY_ENV, KEY.decode())
    assert vault.reid_key_from_env() == KEY
