"""The Argo CD health script (gitops/argocd/health.lua) and Flux's health checks
(gitops/flux/health-check-exprs.yaml) on objects exactly as the bench's apiserver serves them, in each phase
the agent writes."""

from devkit.harness import eventually, synced, toml
from tests.gitops.argocd import health
from tests.gitops.flux import flux_status

NODE = "node-a"
TARGETS = {"names": [NODE]}


def phase(client, name, wanted):
    return eventually(lambda: (client.entry(name, NODE) or {}).get("phase") == wanted, 30, f"{name} {wanted}")


def test_each_phase_of_a_job_and_a_bridge_maps_to_argo_health(jobs, bridges, start_node, start_agent):
    agent = start_agent(NODE, start_node())
    jobs.create("ok", toml("ok"), targets=TARGETS)
    jobs.create("broken", 'type = "webhook\n', targets=TARGETS)
    priced = toml("priced").replace('type=memo value="1"', 'type=bridge name="price"')
    jobs.create("priced", priced, targets=TARGETS)
    jobs.create("paused", toml("paused"), targets=TARGETS, suspend=True)
    bridges.create("feed", "http://adapter:8080", targets=TARGETS)
    synced(jobs, "ok", NODE)
    for client, name, wanted in [
        (bridges, "feed", "Synced"),
        (jobs, "broken", "Invalid"),
        (jobs, "priced", "Pending"),
        (jobs, "paused", "Suspended"),
    ]:
        phase(client, name, wanted)

    assert health(jobs.get("ok")) == ("Healthy", f"Synced on {NODE}")
    assert health(bridges.get("feed")) == ("Healthy", f"Synced on {NODE}")
    status, message = health(jobs.get("broken"))
    assert (status, message.split(" (")[0]) == ("Degraded", f"{NODE}: Invalid")
    assert health(jobs.get("priced")) == ("Progressing", f"{NODE}: Pending (waiting for bridge price)")
    assert health(jobs.get("paused")) == ("Suspended", f"spec.suspend is true: removed from {NODE}")
    flux = {
        name: flux_status(jobs.get(name), "ChainlinkJob") for name in ("ok", "broken", "priced", "paused")
    }
    assert flux == {"ok": "Current", "broken": "Failed", "priced": "InProgress", "paused": "Current"}
    assert flux_status(bridges.get("feed"), "ChainlinkBridge") == "Current"
    agent.stop()  # a spec edit its agent has not seen yet
    jobs.patch_spec("ok", {"toml": toml("ok") + "# edited\n"})
    assert health(jobs.get("ok")) == ("Progressing", f"{NODE}: generation 2 not seen yet")
    assert flux_status(jobs.get("ok"), "ChainlinkJob") == "InProgress"
