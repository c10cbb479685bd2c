"""Process plumbing: settings, metrics, logs, supervised threads and the health server."""
