"""Job specs and node answers that tests in more than one directory use: what both the node double and
the real node answer (tests/contract checks them against both)."""

from __future__ import annotations

import httpx

UNAUTHENTICATED = {"errors": [{"detail": "Authentication failed"}]}
EXPIRED = {"errors": [{"detail": "session missing or expired, please login again"}]}

DIRECT_REQUEST = """type = "directrequest"
schemaVersion = 1
name = "{name}"
contractAddress = "0x613a38AC1659769640aaE063C651F48E0250454C"
evmChainID = "{chain}"
observationSource = \"\"\"
    one [type=memo value="1"];
\"\"\"
"""

USES_BRIDGE = """type = "webhook"
schemaVersion = 1
name = "{name}"
observationSource = \"\"\"
    price [type="bridge" name="{bridge}" requestData="{{\\\\"coin\\\\": \\\\"ETH\\\\"}}"]
\"\"\"
"""


def details(response: httpx.Response) -> list[str]:
    return [error["detail"] for error in response.json()["errors"]]
