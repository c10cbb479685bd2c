"""Kubernetes I/O: the typed client, informers, the Lease and the admission self-test."""
