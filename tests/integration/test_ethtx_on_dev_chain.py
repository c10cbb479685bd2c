"""The chain path, end to end: a ChainlinkJob whose pipeline sends a transaction, made on a real node by the
agent (a real process, on the real apiserver bench), lands that transaction on the dev chain (geth --dev,
devkit/cluster/devchain.py), and the job's run shows it. The sender is the node's own ETH key, filled in by
the agent's per-node templating (`{{ node.ethAddress "1337" }}`, agent/chainlink_agent/model/template.py).

What the node's source (v2.23.0) says about an `ethtx` task in a webhook job:
- An ethtx task makes a pipeline async (Pipeline.RequiresPreInsert, core/services/pipeline/graph.go), and
  the node refuses async tasks in job types that do not support them ("async=true tasks are not supported
  for ...", core/services/job/validate.go ValidateSpec): flux monitor, OCR, OCR2, bootstrap and others. A
  webhook job supports them (supportsAsync, core/services/job/models.go), its own validation checks no task
  (core/services/webhook/validate.go), and the node's own integration test runs exactly this: a webhook job
  with one ethtx task (core/internal/features/features_test.go, TestIntegration_AsyncEthTx).
- The task's chain defaults to `$(jobSpec.evmChainID)` (core/services/pipeline/task.eth_tx.go
  getEvmChainID), which a webhook run does not set: its vars hold only jobSpec.databaseID, externalJobID and
  name (core/services/webhook/delegate.go RunJob). So the spec names the chain (`evmChainID`).
- `from` is a JSON list of addresses (AddressSliceParam, core/services/pipeline/task_params.go); the node
  sends from one of them that is an enabled key for that chain, else the task fails with "no sending keys
  available for chain ... that match whitelist" (core/services/keystore/eth.go GetRoundRobinAddress).
- `data` and `to` have no default (task.eth_tx.go; NonemptyString, core/services/pipeline/getters.go);
  hex with 0x is decoded to bytes (BytesParam, task_params.go).
- With `minConfirmations` > 0 the task suspends the run (RunInfo.IsPending) and the EVM finalizer resumes
  it with the transaction's receipt as the task's output once the receipt is that many blocks deep
  (core/chains/evm/txmgr/finalizer.go ResumePendingTaskRuns, evm_tx_store.go FindTxesPendingCallback). So
  POST /v2/jobs/<externalJobID>/runs answers with an unfinished run (core/web/pipeline_runs_controller.go
  Create), and GET /v2/jobs/:ID/runs/:runID shows it finished later, its output the receipt as JSON
  (core/web/presenters/pipeline_run.go; receipt fields: chainlink-evm pkg/types/types.go Receipt).
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from devkit.cluster.devchain import DevChain
from devkit.harness import Jobs, eventually, synced
from devkit.realnode.fixtures import RealNodes
from devkit.realnode.node import RealNode, evm_config, node_keys

FUNDS = 10**18  # one ether; the transaction costs at most its gas limit at 1 gwei (Simulated.toml)
DATA = "0xdeadbeef"
# In the TOML's basic string `\\"` is `\"`, which the pipeline's DOT reads as `"`: `from` becomes the JSON
# list ["0x..."] (as in the node's own TestIntegration_AsyncEthTx). The template's quotes are gone once
# the agent has filled in the address.
SENDS_A_TRANSACTION = """type = "webhook"
schemaVersion = 1
name = "<name>"
observationSource = \"\"\"
    submit [type=ethtx to="<to>" data="<data>" evmChainID="<chain>" minConfirmations="1" failOnRevert=true
            from="[\\\\"{{ node.ethAddress "<chain>" }}\\\\"]"]
\"\"\"
"""


def sends_a_transaction(name: str, to: str, chain_id: str) -> str:
    values = {"<name>": name, "<to>": to, "<data>": DATA, "<chain>": chain_id}
    return re.sub("|".join(values), lambda m: values[m[0]], SENDS_A_TRANSACTION)


@pytest.fixture
def chain_node(real_nodes: RealNodes, dev_chain: DevChain) -> Iterator[RealNode]:
    """A real node whose one EVM chain is the dev chain."""
    node = real_nodes.start(
        "ethtx", evm_config(str(dev_chain.chain_id), (dev_chain.ws_url, dev_chain.http_url))
    )
    yield node
    node.stop()


@pytest.fixture
def node_api(chain_node: RealNode) -> Iterator[httpx.Client]:
    """One session on the node's API, as a person at its UI keeps one."""
    with httpx.Client(base_url=chain_node.url, timeout=30) as api:
        api.post(
            "/sessions", json={"email": chain_node.email, "password": chain_node.password}
        ).raise_for_status()
        yield api


def test_a_job_sending_a_transaction_from_the_templated_key_lands_it_on_chain_and_its_run_shows_it(
    jobs: Jobs, start_agent: Any, chain_node: RealNode, node_api: httpx.Client, dev_chain: DevChain
) -> None:
    chain_id = str(dev_chain.chain_id)
    # The node's "Simulated" chain (chainlink-evm pkg/config/toml/defaults/Simulated.toml), as templated.
    assert chain_id == "1337"
    (key,) = node_keys(chain_node)["eth"]  # the node made one key for its one chain at its first start
    dev_chain.fund(key, FUNDS)
    to = "0x" + secrets.token_hex(20)

    start_agent("node-a", chain_node)
    jobs.create("pay", sends_a_transaction("pay", to, chain_id), targets={"names": ["node-a"]})
    entry = synced(jobs, "pay", "node-a")
    on_node = node_api.get(f"/v2/jobs/{entry['jobID']}").json()["data"]["attributes"]
    assert f'from="[\\"{key}\\"]"' in on_node["pipelineSpec"]["dotDagSource"]

    started = node_api.post(f"/v2/jobs/{entry['externalJobID']}/runs")
    assert started.status_code == 200, started.text
    run_id = started.json()["data"]["id"]
    assert started.json()["data"]["attributes"]["finishedAt"] is None  # suspended until the receipt

    def finished() -> dict[str, Any] | None:
        run = node_api.get(f"/v2/jobs/{entry['jobID']}/runs/{run_id}").json()["data"]["attributes"]
        return run if run["finishedAt"] else None

    run = eventually(finished, 60, "the run to finish once its transaction has a confirmation")
    assert run["fatalErrors"] == [None], run["allErrors"]
    (task,) = run["taskRuns"]
    assert (task["dotId"], task["error"]) == ("submit", None)
    receipt = json.loads(task["output"])
    assert json.loads(run["outputs"][0]) == receipt

    on_chain = dev_chain.rpc("eth_getTransactionByHash", receipt["transactionHash"])
    assert (on_chain["from"], on_chain["to"], on_chain["input"]) == (key.lower(), to, DATA)
    assert dev_chain.rpc("eth_getTransactionReceipt", receipt["transactionHash"])["status"] == "0x1"
    assert (receipt["status"], receipt["blockHash"]) == ("0x1", on_chain["blockHash"])
    assert int(dev_chain.rpc("eth_getTransactionCount", key, "latest"), 16) == 1
