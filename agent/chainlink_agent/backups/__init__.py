"""Backups off the cluster and restores from them."""
