"""Reproductions of the Go library behaviour the node's answers are made of.

The node's error details are Go error strings (strconv, time, encoding/json) and its timestamps are
Go's RFC 3339 rendering; the double builds the same strings so clients see the node's exact text.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any


def quote(value: str) -> str:
    """Go's strconv.Quote for the printable-ASCII strings the double deals in."""
    return json.dumps(value, ensure_ascii=False)


def marshal(value: Any) -> str:
    """encoding/json's Marshal: compact, UTF-8, with <, >, & and U+2028/U+2029 escaped."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for char in "<>&\u2028\u2029":
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text


def parse_int(value: str, bits: int, func: str = "ParseInt") -> int:
    """strconv.ParseInt(value, 10, bits) (Atoi is ParseInt with bits=64, named Atoi in errors)."""
    if not re.fullmatch(r"[+-]?[0-9]+", value):
        raise ValueError(f"strconv.{func}: parsing {quote(value)}: invalid syntax")
    number = int(value)
    if not -(2 ** (bits - 1)) <= number < 2 ** (bits - 1):
        raise ValueError(f"strconv.{func}: parsing {quote(value)}: value out of range")
    return number


def atoi(value: str) -> int:
    """strconv.Atoi on a 64-bit platform."""
    return parse_int(value, 64, "Atoi")


_UNIT_NS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,  # Go accepts both micro signs
    "μs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_DURATION_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)([^0-9.]*)")


def parse_duration(text: str) -> int:
    """time.ParseDuration, in nanoseconds, with Go's error strings."""
    original, rest, sign = text, text, 1
    if rest.startswith(("-", "+")):
        sign, rest = (-1 if rest[0] == "-" else 1), rest[1:]
    if rest == "0":
        return 0
    if not rest:
        raise ValueError(f"time: invalid duration {quote(original)}")
    total = Fraction(0)
    while rest:
        match = _DURATION_PART.match(rest)
        assert match is not None  # the pattern matches the empty string
        number, unit = match.groups()
        if number in ("", "."):
            raise ValueError(f"time: invalid duration {quote(original)}")
        if not unit:
            raise ValueError(f"time: missing unit in duration {quote(original)}")
        if unit not in _UNIT_NS:
            raise ValueError(f"time: unknown unit {quote(unit)} in duration {quote(original)}")
        total += Fraction(number) * _UNIT_NS[unit]
        rest = rest[match.end() :]
    return sign * int(total)


def _fraction(value: int, digits: int) -> str:
    whole, frac = divmod(value, 10**digits)
    decimals = str(frac).rjust(digits, "0").rstrip("0")
    return f"{whole}.{decimals}" if decimals else str(whole)


def format_duration(ns: int) -> str:
    """time.Duration.String."""
    if ns == 0:
        return "0s"
    sign, ns = ("-" if ns < 0 else ""), abs(ns)
    if ns < 1_000:
        return f"{sign}{ns}ns"
    if ns < 1_000_000:
        return f"{sign}{_fraction(ns, 3)}µs"
    if ns < 1_000_000_000:
        return f"{sign}{_fraction(ns, 6)}ms"
    minutes, seconds_ns = divmod(ns, 60_000_000_000)
    text = f"{_fraction(seconds_ns, 9)}s"
    if minutes:
        hours, minutes = divmod(minutes, 60)
        text = (f"{hours}h" if hours else "") + f"{minutes}m" + text
    return sign + text


def normalise_duration(text: str) -> str:
    """What a models.Interval read from TOML marshals back to (ParseDuration, then String)."""
    return format_duration(parse_duration(text))


def format_time(moment: datetime) -> str:
    """time.Time.MarshalJSON (RFC 3339 with trailing zeros of the fraction trimmed), in UTC."""
    moment = moment.astimezone(UTC)
    fraction = f".{moment.microsecond:06d}".rstrip("0").rstrip(".")
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


class BindError(ValueError):
    """What gin's ShouldBindJSON returns for a body that does not decode into the request struct."""


def json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, dict):
        return "object"
    return "array" if isinstance(value, list) else "string"


def bind_json(body: bytes, go_type: str, fields: dict[str, str]) -> dict[str, Any]:
    """encoding/json decoding of body into a struct of string / uint32 / free-form fields.

    go_type is the Go type as reflect prints it (e.g. "web.CreateJobRequest"); fields maps each
    JSON key to its Go type. Keys match case-insensitively and unknown keys are ignored, as in
    encoding/json; only the first JSON value of the body is read, as json.Decoder does.
    """
    text = body.decode("utf-8", errors="replace").lstrip()
    if not text:
        raise BindError("EOF")
    try:
        document, _ = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError as exc:
        raise BindError(str(exc)) from exc
    struct = go_type.rsplit(".", 1)[-1]
    values: dict[str, Any] = {name: "" if kind == "string" else None for name, kind in fields.items()}
    if document is None:
        return values
    if not isinstance(document, dict):
        kind = json_kind(document)
        raise BindError(f"json: cannot unmarshal {kind} into Go value of type {go_type}")
    for key, value in document.items():
        name = key if key in fields else next((f for f in fields if f.casefold() == key.casefold()), None)
        if name is None or value is None:
            continue
        go_field_type = fields[name]
        if go_field_type == "string" and not isinstance(value, str):
            kind = json_kind(value)
            raise BindError(
                f"json: cannot unmarshal {kind} into Go struct field {struct}.{key} of type string"
            )
        if go_field_type == "uint32" and (
            isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**32
        ):
            kind = json_kind(value)
            # encoding/json names the literal when a number does not fit
            kind += f" {json.dumps(value)}" if kind == "number" else ""
            raise BindError(
                f"json: cannot unmarshal {kind} into Go struct field {struct}.{key} of type uint32"
            )
        values[name] = value
    return values


def parse_uuid(text: str) -> uuid.UUID:
    """github.com/google/uuid Parse, with its error strings."""
    if len(text) == 45:
        if text[:9].lower() != "urn:uuid:":
            raise ValueError(f"invalid urn prefix: {quote(text[:9])}")
        text = text[9:]
    elif len(text) == 38:
        if text[0] != "{" or text[-1] != "}":
            raise ValueError("invalid bracketed UUID format")
        text = text[1:-1]
    elif len(text) == 32:
        if not re.fullmatch(r"[0-9a-fA-F]{32}", text):
            raise ValueError("invalid UUID format")
        return uuid.UUID(hex=text)
    elif len(text) != 36:
        raise ValueError(f"invalid UUID length: {len(text)}")
    if not re.fullmatch(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", text):
        raise ValueError("invalid UUID format")
    return uuid.UUID(text)
