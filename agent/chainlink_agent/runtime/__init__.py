"""Process plumbing: settings, metrics, logs, supervised threads, the health server and the heap trim."""
