"""chainlink-agent: makes a Chainlink node's jobs follow the ChainlinkJob resources that target it.

The data path is watch -> queue -> reconcile -> node client -> status; each step is its own module.
"""
