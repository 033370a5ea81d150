"""What a run is given without configuration: the variable that holds the registry's pseudonym
key, and the bundled synthetic sample with its documented demo key. No third-party imports:
the command's ``--help`` reads this module."""

from __future__ import annotations

from pathlib import Path

KEY_ENV = "MYELOMA_AUDIT_KEY"
REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DELIVERY = REPO_ROOT / "data_samples" / "sample_delivery"
# Only for the bundled synthetic sample: a key anyone may know, since nothing real is behind it.
DEMO_KEY = b"myeloma-audit-demo-key (synthetic sample only)"


def is_sample(delivery: Path | str) -> bool:
    """Whether ``delivery`` is the bundled synthetic sample (the only delivery the demo key may read)."""
    return Path(delivery).resolve() == SAMPLE_DELIVERY.resolve()
