"""Run the node double as a process: python -m devkit.nodedouble --port 0 --email ... --password-file ...

Prints "node double listening on http://HOST:PORT" once it accepts connections, serves each request on
its own thread, and exits 0 on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from werkzeug.serving import make_server

from devkit.nodedouble.app import AUTHENTICATED_RATE, UNAUTHENTICATED_RATE, NodeDoubleApp, RateLimit
from devkit.nodedouble.spec import FEATURE_DISABLED
from devkit.nodedouble.state import NodeState


def _latency(text: str) -> tuple[str, float]:
    method, _, millis = text.partition("=")
    try:
        return method.upper(), float(millis)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected METHOD=MILLISECONDS (METHOD may be *), got {text!r}"
        ) from None


def _rpc(text: str) -> tuple[str, str, str]:
    chain, _, rest = text.partition("/")
    name, _, state = rest.partition("=")
    if not (chain and name and state):
        raise argparse.ArgumentTypeError(f"expected CHAIN/NAME=STATE, got {text!r}")
    return chain, name, state


def _rate(text: str) -> RateLimit | None:
    if text == "off":
        return None
    limit, _, period = text.partition("/")
    try:
        return RateLimit(int(limit), float(period))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LIMIT/SECONDS or off, got {text!r}") from None


def _chains(rpcs: list[tuple[str, str, str]]) -> dict[str, dict[str, str]] | None:
    chains: dict[str, dict[str, str]] = {}
    for chain, name, state in rpcs:
        chains.setdefault(chain, {})[name] = state
    return chains or None


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devkit.nodedouble", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6688, help="0 picks a free port")
    parser.add_argument("--email", required=True, help="the node's API user")
    secret = parser.add_mutually_exclusive_group(required=True)
    secret.add_argument("--password")
    secret.add_argument("--password-file", type=Path)
    parser.add_argument(
        "--latency-ms", type=_latency, action="append", default=[], metavar="METHOD=MS", help="delay per call"
    )
    parser.add_argument("--evm-chain-id", default="1337", help="chain of the seeded ETH keys")
    parser.add_argument("--key-seed", default="node-double", help="same seed, same seeded keys")
    parser.add_argument(
        "--rpc",
        type=_rpc,
        action="append",
        default=[],
        metavar="CHAIN/NAME=STATE",
        help="an EVM chain's RPC node and its state (Alive, Unreachable...); default: the keys' chain, Alive",
    )
    parser.add_argument(
        "--session-timeout", type=float, default=15 * 60, help="idle seconds before a session ends"
    )
    limit = AUTHENTICATED_RATE
    parser.add_argument(
        "--rate-limit",
        type=_rate,
        default=limit,
        help=f"LIMIT/SECONDS per client on every route, or off (node: {limit.limit}/{limit.period:g})",
    )
    limit = UNAUTHENTICATED_RATE
    parser.add_argument(
        "--login-rate-limit",
        type=_rate,
        default=limit,
        help=f"LIMIT/SECONDS per client on POST /sessions, or off (node: {limit.limit}/{limit.period:g})",
    )
    parser.add_argument("--secure-cookies", action="store_true", help="mark the session cookie Secure")
    parser.add_argument(
        "--disable-feature", action="append", default=[], choices=sorted(FEATURE_DISABLED), help="answer 501"
    )
    parser.add_argument("--log-requests", action="store_true", help="log each request to stderr")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    password = args.password if args.password is not None else args.password_file.read_text().rstrip("\r\n")
    state = NodeState(
        args.email,
        password,
        evm_chain_id=args.evm_chain_id,
        key_seed=args.key_seed,
        session_timeout=args.session_timeout,
        rpcs=_chains(args.rpc),
    )
    app = NodeDoubleApp(
        state,
        latency_ms=dict(args.latency_ms),
        authenticated_rate=args.rate_limit,
        unauthenticated_rate=args.login_rate_limit,
        secure_cookies=args.secure_cookies,
        disabled_features=frozenset(args.disable_feature),
    )
    logging.getLogger("werkzeug").setLevel(logging.INFO if args.log_requests else logging.ERROR)
    server = make_server(args.host, args.port, app, threaded=True)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # serve_forever runs on a thread so that the main thread, which receives the signals, can stop it.
    serving = threading.Thread(target=server.serve_forever, name="node-double-server")
    serving.start()
    print(f"node double listening on http://{args.host}:{server.server_port}", flush=True)
    stop.wait()
    server.shutdown()
    serving.join()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
