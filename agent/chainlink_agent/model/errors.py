"""Every error the agent raises on purpose, in one place (the way urllib3 keeps its exceptions.py), by what
the one who catches it must do about it.

    AgentError
    ├── SpecError            the resource's spec: reported in its status, with a reason
    │   ├── InvalidSpec      only an edit of the spec can fix it: not retried
    │   └── Waiting          something it needs does not exist yet: retried with backoff
    │       └── Unresolved   a {{ }} reference without a value yet
    ├── NodeError            the node did not do what was asked
    │   ├── NodeUnavailable  no answer, a timeout or a 5xx: worth retrying as is
    │   └── NodeRejected     a 4xx: the node's own words go to the status
    ├── ImportFailed         a key bundle could not be read or imported: the agent stays unready
    ├── KubeError            the Kubernetes API did not do what was asked (kube.py translates every error)
    │   ├── KubeUnavailable  no answer, a timeout, a 5xx or a 429: worth retrying as is
    │   └── KubeRejected     any other answer but success: `status` says which
    │       ├── NotFound     404: the object does not exist
    │       ├── Conflict     409: it exists, or changed since it was read
    │       └── Gone         410: a watch's resourceVersion expired: list again
    └── BackupError          a backup or restore step failed: the command fails with its one-line message
        └── StoreError       the object store refused, or did not answer (objectstore.py)
"""

from __future__ import annotations

from chainlink_agent.model.phases import Reason


class AgentError(Exception):
    pass


class SpecError(AgentError):
    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class InvalidSpec(SpecError):
    """The spec cannot be sent to the node; only a spec change can fix it."""


class Waiting(SpecError):
    """Something the spec needs does not exist yet; retried with backoff, the node left as it is."""


class Unresolved(Waiting):
    """A well-formed template reference with no value (yet), e.g. a key the node does not have."""

    def __init__(self, reference_text: str, why: str) -> None:
        super().__init__("UnresolvedReference", f"{reference_text}: {why}")


class NodeError(AgentError):
    """The node did not do what was asked."""


class NodeUnavailable(NodeError):
    """No answer, a timeout, or a 5xx: worth retrying as is."""


class NodeRejected(NodeError):
    """The node refused the request (4xx); its own error text is kept verbatim for the status."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


class ImportFailed(AgentError):
    """A bundle could not be read or the node refused it; the message names the file, never a secret."""


class KubeError(AgentError):
    """The Kubernetes API did not do what was asked. kube.py raises nothing else: no ApiException or
    urllib3 error leaves it. `status` is the HTTP status, None when no answer came; the message is the
    apiserver's own (its Status's message, never a request body)."""

    def __init__(self, status: int | None, message: str) -> None:
        super().__init__(f"{status} {message}" if status else message)
        self.status = status
        self.message = message


class KubeUnavailable(KubeError):
    """No answer, a timeout, a 5xx or a 429 (too many requests): worth retrying as is, with backoff."""


class KubeRejected(KubeError):
    """The apiserver refused the call (a 4xx but 429): retrying the same call is of no use until what it
    depends on changes."""


class NotFound(KubeRejected):
    """404: the object (or its namespace) does not exist."""


class Conflict(KubeRejected):
    """409: the object exists already, or changed since the resourceVersion the write carried."""


class Gone(KubeRejected):
    """410: the watch's resourceVersion is too old: list again."""


class BackupError(AgentError):
    """A backup or restore step failed (backup.py, restore.py). The message is one line for a person: it
    names the bucket, key or file, never a credential or a key's secret half."""


class StoreError(BackupError):
    """The object store refused a call or did not answer; the boundary (objectstore.py) translates every
    error of the S3 client and its HTTP pool into this one. `code` is the S3 error code when there is one
    (NoSuchKey, AccessDenied...)."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code
