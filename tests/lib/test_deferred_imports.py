"""Modules Great Expectations imports but the audit never uses wait for their first use."""

import subprocess
import sys
import textwrap

import pytest


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.split()


def test_a_deferred_module_is_executed_at_its_first_use_and_is_then_whole():
    out = _run("""
        import sys
        from pipelines.lib import deferred_imports
        deferred_imports.defer("colorsys")
        import colorsys
        print(type(sys.modules["colorsys"]).__name__)
        print(colorsys.rgb_to_hsv(1.0, 0.0, 0.0)[2])
        print(type(sys.modules["colorsys"]).__name__)
        import json
        print(type(json).__name__)
    """)
    assert out == ["_LazyModule", "1.0", "module", "module"]


@pytest.mark.slow
def test_great_expectations_imported_for_the_suites_leaves_scipy_stats_and_altair_unexecuted():
    out = _run("""
        import sys
        import pipelines.quality.gx_duckdb  # what the suites import
        print(*[type(sys.modules[m]).__name__ for m in ("scipy.stats", "altair")])
        from scipy import stats
        print(round(stats.norm.cdf(0), 2))
    """)
    assert out == ["_LazyModule", "_LazyModule", "0.5"]
