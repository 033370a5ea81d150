"""The quality site's stored validation results stay JSON when CPR-shaped tokens are masked."""

import json

from pipelines.lib import cpr
from pipelines.quality.docs import scrub_json


def test_scrub_json_masks_tokens_in_strings_keys_and_numbers_and_stays_json():
    stored = {
        "partial_unexpected_list": [10, 12, 99, 1234],
        "observed_value": 1102031234,
        "details": {"01.02.03-1234": "pt 0102 03 1234 i fritekst", "mean": 1.5},
        "success": False,
    }
    text = json.dumps(stored, indent=2)
    text = text.replace(json.dumps(stored["partial_unexpected_list"], indent=2).replace("\n", "\n  "),
                        "[10, 12, 99, 1234]")
    assert cpr.scrub(text).count("[<cpr>]") == 1  # the text masked as a whole is no longer JSON
    cleaned = scrub_json(text)
    data = json.loads(cleaned)
    assert not cpr.contains(cleaned)
    assert data["partial_unexpected_list"] == [10, 12, 99, 1234]  # four numbers, not one token
    assert data["observed_value"] == 0
    assert data["details"] == {"<cpr>": "pt <cpr> i fritekst", "mean": 1.5}
    assert data["success"] is False


def test_scrub_json_leaves_a_clean_file_byte_for_byte():
    text = '{\n  "a": [1, 2],\n  "b": "2025-12-01 12:00"\n}'
    assert scrub_json(text) == text
