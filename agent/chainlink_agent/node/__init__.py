"""Chainlink node I/O: the node's HTTP API, its rate limit, the snapshot and key import."""
