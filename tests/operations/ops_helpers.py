"""Deliveries with chosen ids, dates and versions, and a fast stand-in for ``run_audit`` that
publishes the way the real one does (lock, fresh folder, atomic swap)."""

from __future__ import annotations

import json
import zipfile
from datetime import date
from pathlib import Path
from types import SimpleNamespace

from pipelines.ingest.delivery import peek_manifest
from pipelines.lib.publish import incoming_dir, publish, publish_lock
from tests.delivery_builder import write_delivery


def delivery(folder: Path, extract_id: str | None = "DMDB-2026-11-01", extracted_at: date = date(2026, 11, 1),
             version: int | None = None, extra: dict | None = None, manifest: bool = True) -> Path:
    """A small valid delivery (the spec's two patients + ``extra`` lines) with its manifest."""
    write_delivery(folder, extra, manifest=manifest, extract_date=extracted_at)
    if manifest:
        content = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        content["extract_id"] = extract_id
        if version is not None:
            content["version"] = version
        (folder / "manifest.json").write_text(json.dumps(content), encoding="utf-8")
    return folder


def zipped(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for file in sorted(folder.iterdir()):
            zf.write(file, f"{folder.name}/{file.name}")
    return target


class FakeAudit:
    """Records every call; publishes a tiny patient_results.csv naming the delivery, or
    raises ``fail`` (an exception, or a list of them consumed one per call)."""

    def __init__(self, fail=None):
        self.calls: list[dict] = []
        self.fail = fail

    def __call__(self, extract, out_dir, key=None, extract_date=None, parameters=None, previous_results=None):
        self.calls.append({"extract": Path(extract), "out_dir": Path(out_dir), "extract_date": extract_date,
                           "previous_results": previous_results})
        fail = self.fail.pop(0) if isinstance(self.fail, list) and self.fail else (
            None if isinstance(self.fail, list) else self.fail)
        if fail is not None:
            raise fail
        manifest = peek_manifest(Path(extract)) or {}
        extract_id = manifest.get("extract_id") or Path(extract).name
        out_dir = Path(out_dir)
        with publish_lock(out_dir):
            staging = incoming_dir(out_dir)
            (staging / "patient_results.csv").write_text(f"extract_id\n{extract_id}\n", encoding="utf-8")
            (staging / "run.json").write_text(json.dumps({"extract_id": extract_id}), encoding="utf-8")
            publish(staging, out_dir)
        return SimpleNamespace(extract_id=extract_id)


def published_id(folder: Path) -> str:
    return json.loads((folder / "run.json").read_text(encoding="utf-8"))["extract_id"]
