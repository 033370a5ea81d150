"""The documented UI command (``myeloma-audit ui``) starts the Dagster webserver on a free
local port with DAGSTER_HOME in a temporary working folder; headless Chromium renders the
global asset graph, which shows every layer as a group and lists each layer's assets.
Dagster's GraphQL endpoint is asked the same question as a second check."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.operations.ops_chromium import Chromium, chromium_available

REPO = Path(__file__).resolve().parents[2]
LAYERS = {"raw": "raw_patients", "staging": "stg_patients", "intermediate": "int_risk",
          "indicators": "ind_mm01", "reports": "rpt_patient_results"}

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not chromium_available(),
                                 reason="Chromium is not installed (apt-get install -y chromium): no browser test")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening_addresses(port: int) -> set[str]:
    """Local addresses listening on ``port`` (from /proc/net/tcp{,6}, hex as the kernel writes it)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


def get(url: str, timeout: float = 5.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as answer:
        return answer.read()


def graphql(base: str, query: str) -> dict:
    request = urllib.request.Request(f"{base}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())["data"]


@pytest.fixture
def webserver(tmp_path):
    pytest.importorskip("dagster_webserver", reason="dagster-webserver==1.13.27 is not installed")
    port, work = free_port(), tmp_path / "work"
    env = {k: v for k, v in os.environ.items() if k not in ("MYELOMA_AUDIT_INBOX", "MYELOMA_AUDIT_RESULTS", "DAGSTER_HOME")}
    log = open(tmp_path / "ui.log", "w")
    server = subprocess.Popen([sys.executable, "-m", "pipelines.operations.commands", "ui", "--port", str(port),
                               "--workdir", str(work)], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)  # its own process group: dagster dev and its children
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                get(f"{base}/server_info", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail(f"the webserver did not come up:\n{(tmp_path / 'ui.log').read_text()[-3000:]}")
                time.sleep(0.5)
        yield base, port, work
    finally:
        for sig, wait in ((signal.SIGINT, 3), (signal.SIGKILL, 10)):
            if server.poll() is not None:
                break
            os.killpg(server.pid, sig)  # the group started above, nothing else
            try:
                server.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(server.pid, signal.SIGKILL)  # children that outlived dagster dev
        except ProcessLookupError:
            pass
        log.close()


def test_asset_graph_in_the_browser_shows_every_layer(webserver, tmp_path):
    base, port, work = webserver
    assert listening_addresses(port) == {"0100007F"}, "the webserver must listen on 127.0.0.1 only"
    home = work / ".dagster_home"
    assert "enabled: false" in (home / "dagster.yaml").read_text()
    assert (home / "history").is_dir(), "run history is not kept in the working folder's DAGSTER_HOME"

    # GraphQL: every layer has assets, each with a description
    nodes = graphql(base, "{ assetNodes { assetKey { path } groupName description } }")["assetNodes"]
    by_group: dict[str, list[dict]] = {}
    for node in nodes:
        by_group.setdefault(node["groupName"], []).append(node)
    for layer, example in LAYERS.items():
        assert any(n["assetKey"]["path"][-1] == example for n in by_group.get(layer, [])), (layer, sorted(by_group))
        assert all(n["description"] for n in by_group[layer]), f"assets without description in {layer}"

    browser = Chromium(tmp_path / "chromium-profile", width=1600, height=2400)
    try:
        browser.open(f"{base}/asset-groups")
        groups_js = ("Array.from(document.querySelectorAll('[class*=CollapsedGroupNode_collapsedGroupNodeBox]'))"
                     ".map(e => e.innerText.trim().split('\\n')[0])")
        browser.wait_for(f"(() => {{ const g = {groups_js}; return {json.dumps(list(LAYERS))}.every(l => g.includes(l)); }})()",
                         timeout=40)
        graph_groups = set(browser.evaluate(groups_js) or [])
        assert set(LAYERS) <= graph_groups, f"the asset graph shows the groups {sorted(graph_groups)}"
        # open every group in the graph's sidebar (the caret button before each group's name)
        opened = browser.evaluate("""(() => {
            const layers = %s; const buttons = Array.from(document.querySelectorAll('button')); let n = 0;
            buttons.forEach((b, i) => {
              const name = b.innerText.split('\\n')[0].trim();
              if (layers.includes(name) && buttons[i - 1] && buttons[i - 1].innerText.trim() === '') { buttons[i - 1].click(); n++; }
            });
            return n; })()""" % json.dumps(list(LAYERS)))
        assert opened >= len(LAYERS)
        wanted = json.dumps(list(LAYERS.values()))
        browser.wait_for(f"{wanted}.every(a => document.body.innerText.includes(a))", timeout=20)
        text = browser.evaluate("document.body.innerText")
        browser.screenshot(tmp_path / "asset-graph.png")
    finally:
        browser.close()
    assert "Global asset lineage" in text
    missing = [asset for asset in LAYERS.values() if asset not in text]
    assert not missing, f"not listed in the asset graph: {missing} (screenshot {tmp_path / 'asset-graph.png'})"
    for layer, nodes_of_layer in by_group.items():
        if layer in LAYERS:
            shown = [n["assetKey"]["path"][-1] for n in nodes_of_layer if n["assetKey"]["path"][-1] in text]
            assert len(shown) == len(nodes_of_layer), f"{layer}: only {shown} of {len(nodes_of_layer)} listed"


def test_an_audit_recorded_on_the_ui_instance_shows_its_metadata_on_the_asset_graph(webserver, tmp_path):
    """What the sensor's and schedules' runs do (``run_audit(instance=context.instance)``),
    done directly: the audit's row counts, check results and national proportions are then
    what the UI shows for each asset."""
    import dagster as dg

    from pipelines.audit import run_audit

    base, _, work = webserver
    home = work / ".dagster_home"
    with dg.DagsterInstance.from_ref(dg._core.instance.ref.InstanceRef.from_dir(str(home))) as instance:
        run_audit(REPO / "data_samples" / "sample_delivery", tmp_path / "out", instance=instance)
    rows_expected = len((tmp_path / "out" / "patient_results.csv").read_text(encoding="utf-8").splitlines()) - 1

    query = """{ assetNodes(assetKeys: [%s]) { assetKey { path }
        assetMaterializations(limit: 1) { metadataEntries { label
            ... on IntMetadataEntry { intValue } ... on FloatMetadataEntry { floatValue } } }
        assetChecksOrError { ... on AssetChecks { checks { name executionForLatestMaterialization { status } } } } } }"""
    keys = ", ".join('{path: %s}' % json.dumps(k) for k in
                     (["staging", "stg_patients"], ["indicators", "ind_mm01"], ["reports", "rpt_patient_results"]))
    nodes = {tuple(n["assetKey"]["path"]): n for n in graphql(base, query % keys)["assetNodes"]}

    def metadata(key):
        (materialization,) = nodes[key]["assetMaterializations"]
        return {e["label"]: e.get("intValue", e.get("floatValue")) for e in materialization["metadataEntries"]}

    assert metadata(("staging", "stg_patients"))["rows"] > 0
    assert metadata(("reports", "rpt_patient_results"))["rows"] == rows_expected
    assert 0 < metadata(("indicators", "ind_mm01"))["national_proportion"] <= 1
    checks = nodes[("staging", "stg_patients")]["assetChecksOrError"]["checks"]
    assert checks and all(c["executionForLatestMaterialization"]["status"] == "SUCCEEDED" for c in checks)

    browser = Chromium(tmp_path / "chromium-profile", width=1600, height=1600)
    try:
        browser.open(f"{base}/assets/indicators/ind_mm01")
        shown = "!!document.body && document.body.innerText.includes('national_proportion')"
        browser.wait_for(shown + " && document.body.innerText.includes('status_counts')", timeout=40)
        browser.screenshot(tmp_path / "ind_mm01.png")
    finally:
        browser.close()
