"""pytest fixtures for the bench's S3-compatible object store (devkit/cluster/objectstore.py).

* ``object_store`` (session) -> ``ObjectStore``: versitygw on a free loopback port with the bucket
  ``backups``; started the first time a test asks for it, stopped at the end of the session. A missing
  binary fails the test with the command that builds it, as the control plane's fixtures do.
* ``s3_bucket`` (function) -> ``str``: a new, empty bucket on ``object_store`` for one test.

devkit/pytest_plugin.py lists this module in ``pytest_plugins``. A store on the real-pod bench's bridge,
for pods to reach, is ``ObjectStore(dir, host=devkit.cluster.kubelet.NODE_IP)`` started after
``real_pods_cluster``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator

import pytest

from devkit.cluster.fixtures import serving
from devkit.cluster.objectstore import ObjectStore


@pytest.fixture(scope="session")
def object_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObjectStore]:
    yield from serving(ObjectStore(tmp_path_factory.mktemp("objectstore")), "object store")


@pytest.fixture
def s3_bucket(object_store: ObjectStore, request: pytest.FixtureRequest) -> str:
    # S3 bucket names: 3-63 characters of [a-z0-9-], starting and ending with a letter or digit.
    base = re.sub(r"[^a-z0-9-]+", "-", request.node.name.lower()).strip("-")[:48].strip("-") or "t"
    name = f"{base}-{secrets.token_hex(3)}"
    object_store.create_bucket(name)
    return name
