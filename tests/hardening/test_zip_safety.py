"""Zip deliveries (issue 8): entries with ``..``, absolute paths, drive letters or backslashes,
symbolic links, suspicious expansion ratios or totals, and a file twice are refused with a
message naming the zip; nothing of a zip is ever extracted to disk (members are read into
memory by their base name)."""

from __future__ import annotations

import stat
import struct
import zipfile
from pathlib import Path

import pytest

from pipelines.ingest.delivery import ZIP_MAX_TOTAL_BYTES, open_delivery
from pipelines.lib.errors import DeliveryRefused
from tests.delivery_builder import write_delivery


def make_zip(tmp: Path, extra: list[tuple[zipfile.ZipInfo | str, bytes]] = (), prefix: str = "DMDB-TEST/") -> Path:
    folder = write_delivery(tmp / "folder")
    target = tmp / "DMDB-TEST.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.iterdir()):
            zf.write(path, prefix + path.name)
        for info, data in extra:
            zf.writestr(info, data)
    return target


def set_sizes(path: Path, member: str, file_size: int, compress_size: int | None = None) -> None:
    """Rewrite a member's sizes in the central directory (what the safety checks read)."""
    data = bytearray(path.read_bytes())
    name = member.encode()
    pos = 0
    while (pos := data.find(b"PK\x01\x02", pos)) != -1:
        name_len = struct.unpack_from("<H", data, pos + 28)[0]
        if bytes(data[pos + 46: pos + 46 + name_len]) == name:
            if compress_size is not None:
                struct.pack_into("<I", data, pos + 20, compress_size)
            struct.pack_into("<I", data, pos + 24, file_size)
            path.write_bytes(bytes(data))
            return
        pos += 4
    raise AssertionError(f"{member} not in the central directory")


def test_a_plain_zip_delivery_reads_like_its_folder(tmp_path):
    delivery = open_delivery(make_zip(tmp_path))
    folder = open_delivery(tmp_path / "folder")
    assert delivery.files == folder.files and delivery.extract_id == "TEST-1"


@pytest.mark.parametrize("entry", [
    "DMDB-TEST/../labs.csv", "../../../../tmp/evil.csv", "/etc/cron.d/evil", "C:/Windows/evil.csv",
    "DMDB-TEST\\..\\..\\evil.csv", "DMDB-TEST/sub/../../../evil.csv",
])
def test_entry_that_points_outside_its_folder_is_refused(tmp_path, entry):
    zpath = make_zip(tmp_path, [(entry, b"x")])
    with pytest.raises(DeliveryRefused, match=r"DMDB-TEST\.zip: zip entry .* points outside its folder"):
        open_delivery(zpath)
    assert not Path("/tmp/evil.csv").exists()


def test_symbolic_link_entry_is_refused(tmp_path):
    link = zipfile.ZipInfo("DMDB-TEST/extra/link")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    zpath = make_zip(tmp_path, [(link, b"/etc/passwd")])
    with pytest.raises(DeliveryRefused, match="DMDB-TEST.zip: zip entry .* is a symbolic link"):
        open_delivery(zpath)


def test_delivery_file_that_is_a_symbolic_link_is_refused(tmp_path):
    """The link replaces a delivery file itself (labs.csv → /etc/passwd)."""
    folder = write_delivery(tmp_path / "folder")
    zpath = tmp_path / "DMDB-TEST.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for path in sorted(folder.iterdir()):
            if path.name == "labs.csv":
                link = zipfile.ZipInfo("DMDB-TEST/labs.csv")
                link.create_system = 3
                link.external_attr = (stat.S_IFLNK | 0o777) << 16
                zf.writestr(link, b"/etc/passwd")
            else:
                zf.write(path, "DMDB-TEST/" + path.name)
    with pytest.raises(DeliveryRefused, match="symbolic link"):
        open_delivery(zpath)


def test_member_with_a_huge_expansion_ratio_is_refused_before_reading(tmp_path):
    zpath = make_zip(tmp_path, [("DMDB-TEST/padding.bin", b"\0" * 1000)])
    set_sizes(zpath, "DMDB-TEST/padding.bin", file_size=3_000_000_000)  # ~3 GB from a few bytes
    with pytest.raises(DeliveryRefused, match="DMDB-TEST.zip: zip entry 'DMDB-TEST/padding.bin' expands suspiciously"):
        open_delivery(zpath)


def test_zip_that_expands_beyond_the_total_limit_is_refused(tmp_path):
    members = [(f"DMDB-TEST/part{i}.bin", b"\0" * 100) for i in range(6)]
    zpath = make_zip(tmp_path, members)
    for name, _ in members:  # 6 × 4 GB at a plausible ratio of 100: > 20 GB in all
        set_sizes(zpath, name, file_size=4_000_000_000, compress_size=40_000_000)
    assert 6 * 4_000_000_000 > ZIP_MAX_TOTAL_BYTES
    with pytest.raises(DeliveryRefused, match="DMDB-TEST.zip: zip expands to .* more than"):
        open_delivery(zpath)


def test_declared_size_bounds_what_is_read(tmp_path):
    """A member that decompresses to more than its declared size is cut at the declared size
    by zipfile and then fails its CRC: it must be refused, not read whole."""
    zpath = make_zip(tmp_path)
    set_sizes(zpath, "DMDB-TEST/labs.csv", file_size=10)
    with pytest.raises(DeliveryRefused, match="DMDB-TEST.zip"):
        open_delivery(zpath)


def test_same_file_twice_is_refused(tmp_path):
    zpath = make_zip(tmp_path, [("OTHER/labs.csv", b"cpr;sample_date;analysis;value;unit\n")])
    with pytest.raises(DeliveryRefused, match="labs.csv occurs 2 times in the zip"):
        open_delivery(zpath)


def test_zip_refusal_through_the_command_is_one_line_and_publishes_nothing(tmp_path, capsys, monkeypatch):
    from pipelines import cli
    import os

    monkeypatch.setenv("MYELOMA_AUDIT_KEY", "k" * 32)
    zpath = make_zip(tmp_path, [("../../evil.csv", b"x")])
    old = os.umask(0o022)
    try:
        code = cli.main(["run", "--extract", str(zpath), "--out", str(tmp_path / "out")])
    finally:
        os.umask(old)
    err = capsys.readouterr().err
    assert code == 1
    assert err.strip().splitlines()[-1].startswith("myeloma-audit: delivery refused: DMDB-TEST.zip: zip entry")
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / ".out.myeloma-audit").exists()  # refused before anything was created
