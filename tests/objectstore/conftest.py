"""The object store's fixtures, for the tests here (tests/cluster/objectstore_fixtures.py)."""

from tests.cluster.objectstore_fixtures import object_store, s3_bucket

__all__ = ["object_store", "s3_bucket"]
