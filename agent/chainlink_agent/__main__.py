"""The `chainlink-agent` command and `python -m chainlink_agent` (see cli.py)."""

from chainlink_agent.k8s import leankube

leankube.install()  # before anything imports kubernetes: the agent loads only the parts it uses

from chainlink_agent.cli import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
