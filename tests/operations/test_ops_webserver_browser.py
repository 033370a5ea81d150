"""The documented UI command (``myeloma-audit ui``) in an empty folder: the Dagster webserver on
a free local port with DAGSTER_HOME in that folder. Headless Chromium (Playwright, the
``browser`` fixture) renders the global asset graph with every layer as a group; "Materialize
all" launched through Dagster's GraphQL API, as the button does, audits the bundled sample
into ``./out`` with every asset materialised; then ``myeloma-audit run`` in the same folder
succeeds on what the UI published."""

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

REPO = Path(__file__).resolve().parents[2]
LAYERS = {"raw": "raw_patients", "staging": "stg_patients", "intermediate": "int_risk",
          "indicators": "ind_mm01", "reports": "rpt_patient_results", "publish": "published"}

pytestmark = pytest.mark.slow


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


def graphql(base: str, query: str, variables: dict | None = None) -> dict:
    request = urllib.request.Request(f"{base}/graphql", data=json.dumps({"query": query, "variables": variables or {}}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        body = json.loads(answer.read())
    assert "errors" not in body, body
    return body["data"]


def clean_env() -> dict[str, str]:
    drop = ("MYELOMA_AUDIT_INBOX", "MYELOMA_AUDIT_RESULTS", "DAGSTER_HOME", "MYELOMA_AUDIT_KEY")
    return {k: v for k, v in os.environ.items() if k not in drop}


@pytest.fixture(scope="module")
def webserver(tmp_path_factory):
    """``myeloma-audit ui`` in an empty folder, as a new user starts it (no key: the sample's demo key)."""
    pytest.importorskip("dagster_webserver", reason="dagster-webserver==1.13.27 is not installed")
    root = tmp_path_factory.mktemp("ui")
    port, work = free_port(), root / "work"
    log = open(root / "ui.log", "w")
    server = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "ui", "--port", str(port), "--workdir", str(work)],
                              cwd=REPO, env=clean_env(), stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)  # its own process group: dagster dev and its children
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                get(f"{base}/server_info", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail(f"the webserver did not come up:\n{(root / 'ui.log').read_text()[-3000:]}")
                time.sleep(0.5)
        yield base, port, work, root
    finally:
        for sig, wait in ((signal.SIGINT, 5), (signal.SIGKILL, 10)):
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


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1600, "height": 2400}, bypass_csp=True)  # wait_for_function evaluates
    yield context.new_page()
    context.close()


def test_asset_graph_in_the_browser_shows_every_layer(webserver, page, tmp_path):
    base, port, work, _ = webserver
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

    page.goto(f"{base}/asset-groups")
    groups_js = ("Array.from(document.querySelectorAll('[class*=CollapsedGroupNode_collapsedGroupNodeBox]'))"
                 ".map(e => e.innerText.trim().split('\\n')[0])")
    page.wait_for_function(f"(() => {{ const g = {groups_js}; return {json.dumps(list(LAYERS))}.every(l => g.includes(l)); }})()",
                           timeout=60_000)
    # open every group in the graph's sidebar (the caret button before each group's name)
    opened = page.evaluate("""(layers) => {
        const buttons = Array.from(document.querySelectorAll('button')); let n = 0;
        buttons.forEach((b, i) => {
          const name = b.innerText.split('\\n')[0].trim();
          if (layers.includes(name) && buttons[i - 1] && buttons[i - 1].innerText.trim() === '') { buttons[i - 1].click(); n++; }
        });
        return n; }""", list(LAYERS))
    assert opened >= len(LAYERS)
    page.wait_for_function("(assets) => assets.every(a => document.body.innerText.includes(a))", arg=list(LAYERS.values()),
                           timeout=30_000)
    text = page.evaluate("document.body.innerText")
    page.screenshot(path=str(tmp_path / "asset-graph.png"))
    assert "Global asset lineage" in text
    for layer, nodes_of_layer in by_group.items():
        if layer in LAYERS:
            shown = [n["assetKey"]["path"][-1] for n in nodes_of_layer if n["assetKey"]["path"][-1] in text]
            assert len(shown) == len(nodes_of_layer), f"{layer}: only {shown} of {len(nodes_of_layer)} listed"


LAUNCH = """mutation($params: ExecutionParams!) { launchPipelineExecution(executionParams: $params) { __typename
    ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } } ... on InvalidSubsetError { message } } }"""


def materialize_all(base: str) -> str:
    """What the "Materialize all" button sends: every asset and check of the code location, in
    the implicit asset job, with no run configuration."""
    nodes = graphql(base, """{ assetNodes { assetKey { path } isMaterializable
        assetChecksOrError { ... on AssetChecks { checks { name } } } } }""")["assetNodes"]
    params = {"selector": {"repositoryLocationName": "myeloma_audit", "repositoryName": "__repository__",
                           "pipelineName": "__ASSET_JOB",
                           "assetSelection": [{"path": n["assetKey"]["path"]} for n in nodes if n["isMaterializable"]],
                           "assetCheckSelection": [{"assetKey": {"path": n["assetKey"]["path"]}, "name": c["name"]}
                                                   for n in nodes for c in n["assetChecksOrError"].get("checks") or []]},
              "runConfigData": {}, "mode": "default", "executionMetadata": {"tags": []}}
    launched = graphql(base, LAUNCH, {"params": params})["launchPipelineExecution"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    return launched["run"]["runId"]


def wait_for(base: str, run_id: str, timeout: float = 600) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = graphql(base, "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }",
                         {"id": run_id})["runOrError"]["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            return status
        time.sleep(2)
    return "TIMEOUT"


def test_materialize_all_on_an_empty_folder_then_the_command_in_the_same_folder(webserver, page, tmp_path):
    base, _, work, root = webserver
    run_id = materialize_all(base)
    status = wait_for(base, run_id)
    assert status == "SUCCESS", (root / "ui.log").read_text()[-4000:]

    # every asset materialised by that run, with its figures on the asset graph
    query = """{ assetNodes { assetKey { path } assetMaterializations(limit: 1) { runId metadataEntries { label
        ... on IntMetadataEntry { intValue } ... on FloatMetadataEntry { floatValue } } }
        assetChecksOrError { ... on AssetChecks { checks { name executionForLatestMaterialization { status } } } } } }"""
    nodes = {tuple(n["assetKey"]["path"]): n for n in graphql(base, query)["assetNodes"]}
    assert len(nodes) > 50
    assert all(n["assetMaterializations"] and n["assetMaterializations"][0]["runId"] == run_id for n in nodes.values()), \
        [k for k, n in nodes.items() if not n["assetMaterializations"]]

    def metadata(key):
        (materialization,) = nodes[key]["assetMaterializations"]
        return {e["label"]: e.get("intValue", e.get("floatValue")) for e in materialization["metadataEntries"]}

    out = work / "out"
    rows = len((out / "patient_results.csv").read_text(encoding="utf-8").splitlines()) - 1
    assert metadata(("staging", "stg_patients"))["rows"] > 0
    assert metadata(("reports", "rpt_patient_results"))["rows"] == rows
    assert 0 < metadata(("indicators", "ind_mm01"))["national_proportion"] <= 1
    checks = nodes[("staging", "stg_patients")]["assetChecksOrError"]["checks"]
    assert checks and all(c["executionForLatestMaterialization"]["status"] == "SUCCEEDED" for c in checks)

    # published as the command publishes: the list of files, nothing of Dagster's inside it
    assert (out / ".myeloma-audit-files.json").is_file() and (out / "run.json").is_file()
    assert json.loads((out / "run.json").read_text())["used_demo_key"] is True
    assert not (out / "dagster").exists() and not list(out.rglob("*.sqlite*"))
    assert sorted(p.name for p in work.iterdir()) == [".dagster_home", ".out.myeloma-audit", "out"]

    page.goto(f"{base}/assets/indicators/ind_mm01")
    page.wait_for_function("document.body && document.body.innerText.includes('national_proportion')"
                           " && document.body.innerText.includes('status_counts')", timeout=60_000)
    page.screenshot(path=str(tmp_path / "ind_mm01.png"))

    # the command in the same folder: ./out holds results it may replace
    before = (out / "patient_results.csv").read_bytes()
    command = subprocess.run([sys.executable, "-m", "pipelines.cli", "run"], cwd=work, env=clean_env(),
                             capture_output=True, text=True, timeout=600)
    assert command.returncode == 0, command.stderr[-3000:]
    assert f"outputs in {out}" in command.stdout
    assert (out / "patient_results.csv").read_bytes() == before  # the same audit, the same results
    assert [p.name for p in (work / ".out.myeloma-audit").iterdir()] == ["lock"]
