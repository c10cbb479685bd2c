"""Prometheus metrics, on a registry of the agent's own so tests can run several agents in one process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.reconciles = Counter(
            "chainlink_agent_reconciles_total",
            "Reconciles of one resource on this node, by kind (ChainlinkJob, ChainlinkBridge) and result.",
            ["kind", "result"],
            registry=self.registry,
        )
        self.reconcile_errors = Counter(
            "chainlink_agent_reconcile_errors_total",
            "Reconciles that ended in an unexpected error, by kind and the error's type.",
            ["kind", "reason"],
            registry=self.registry,
        )
        self.reconcile_seconds = Histogram(
            "chainlink_agent_reconcile_seconds",
            "Wall time of one reconcile, node API calls included, by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "chainlink_agent_queue_depth", "Keys waiting in the work queue.", registry=self.registry
        )
        self.node_api_seconds = Histogram(
            "chainlink_agent_node_api_seconds",
            "Latency of calls to the Chainlink node's API.",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
            registry=self.registry,
        )
        self.node_api_responses = Counter(
            "chainlink_agent_node_api_responses_total",
            "Calls to the node's API by status code ('error' when no response came).",
            ["method", "route", "code"],
            registry=self.registry,
        )
        self.node_api_throttled_seconds = Counter(
            "chainlink_agent_node_api_throttled_seconds_total",
            "Seconds calls to the node waited for its rate limit window (WebServer.RateLimit).",
            registry=self.registry,
        )
        self.watch_restarts = Counter(
            "chainlink_agent_watch_restarts_total",
            "Times a watch was restarted, by kind and reason.",
            ["kind", "reason"],
            registry=self.registry,
        )
        self.aggregator_leading = Gauge(
            "chainlink_agent_aggregator_leading",
            "1 while this agent holds the namespace's Lease and writes the resources' status.",
            registry=self.registry,
        )
        self.admission_policy_enforced = Gauge(
            "chainlink_agent_admission_policy_enforced",
            "1 while the API server refuses this agent a dry-run write of another node's placement (the"
            " admission self-test: the chart's admission policy holds), 0 while it accepts it.",
            registry=self.registry,
        )
        # Set by each ChainlinkNode report (nodestatus.py), so they match what kubectl shows.
        self.ready = Gauge(
            "chainlink_agent_ready", "1 while the agent's /readyz answers 200.", registry=self.registry
        )
        self.node_up = Gauge(
            "chainlink_agent_node_up",
            "1 while the node's API answered the agent's last call, else 0.",
            registry=self.registry,
        )
        self.node_active = Gauge(
            "chainlink_agent_node_active",
            "1 while this pod's node holds the database lease and does the node's work (always, without a"
            " standby), 0 while it stands by.",
            registry=self.registry,
        )
        self.standby_ready = Gauge(
            "chainlink_agent_standby_ready",
            "With a standby, from the active pod's agent only: 1 while the other pod is Ready to take over.",
            ["standby_pod"],
            registry=self.registry,
        )
        self.failovers = Gauge(
            "chainlink_agent_node_failovers",
            "With a standby: times another pod of this node took over (ChainlinkNode status.failovers).",
            registry=self.registry,
        )
        self.last_failover = Gauge(
            "chainlink_agent_node_last_failover_timestamp_seconds",
            "With a standby: Unix time of the last failover (the ChainlinkNode's status.lastFailoverTime).",
            registry=self.registry,
        )
        self.backup_last_success = Gauge(
            "chainlink_agent_backup_last_success_timestamp_seconds",
            "With the chart's backups, from the active node's agent: Unix time of the last backup that "
            "succeeded (its ChainlinkNode's status.backup.lastSuccessTime), or of the agent's start while "
            "none has, so a new release gets the alert's grace.",
            ["node"],
            registry=self.registry,
        )
        # The node's own `health` gauge is per service and shows one of the service's checks, whichever its
        # map range visits last (chainlink-common pkg/services/health.go), so a failing check can read 1.
        self.node_health_check = Gauge(
            "chainlink_agent_node_health_check",
            "1 while the node's GET /health reports the check passing, 0 while failing; one series per check"
            " it lists, none while /health does not answer.",
            ["check"],
            registry=self.registry,
        )
        self.resources = Gauge(
            "chainlink_agent_resources",
            "Resources targeting this node, by kind and their phase on it.",
            ["kind", "phase"],
            registry=self.registry,
        )
        self.last_resync = Gauge(
            "chainlink_agent_last_resync_timestamp_seconds",
            "Unix time the last full resync with the node (jobs, bridges and keys listed) finished.",
            registry=self.registry,
        )
        self.build_info = Gauge(
            "chainlink_agent_build_info",
            "Always 1: the agent's version and the node's (as GET /v2/build_info reports it).",
            ["version", "node_version"],
            registry=self.registry,
        )
