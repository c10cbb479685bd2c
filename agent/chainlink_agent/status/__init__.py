"""Status: the elected aggregator, the ChainlinkNode report and the DON view."""
