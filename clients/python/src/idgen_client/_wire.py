"""Reply and error normalisation shared by the clients.

redis-py 5+ speaks RESP2 or RESP3 (8.x defaults to RESP3). The WORKER.* and SEQ.* replies used
here are integers and arrays in both protocols, except WORKER.INFO (a map under RESP3, a flat
array under RESP2). Strings arrive as bytes, or as str with ``decode_responses=True``. redis-py
strips the ``ERR `` prefix from error messages; other codes (``LEASELOST``, ``POOLFULL``,
``POOLRESUMING``) stay at the front of the message.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, NamedTuple, Optional, Union

from redis.exceptions import ResponseError

from .errors import LeaseLost, NoReplicas, PoolFull, PoolResuming, ProtocolError, retry_after_ms

KeyLike = Union[bytes, str, int]


def to_bytes(key: KeyLike) -> bytes:
    """A key or task key as the bytes redis-py would send (str as UTF-8, int as decimal)."""
    if isinstance(key, bytes):
        return key
    if isinstance(key, (bytearray, memoryview)):
        return bytes(key)
    if isinstance(key, str):
        return key.encode("utf-8")
    if isinstance(key, int) and not isinstance(key, bool):
        return str(key).encode("ascii")
    raise TypeError(f"expected bytes, str or int, got {type(key).__name__}")


def to_str(value: Any) -> Any:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def error_code(exc: BaseException) -> str:
    """The error code of a server error (``ERR`` when redis-py stripped it)."""
    text = str(exc)
    first = text.split(" ", 1)[0]
    return first if first.isupper() and first.isalpha() else "ERR"


def is_lease_lost(exc: BaseException) -> bool:
    return isinstance(exc, ResponseError) and str(exc).lstrip().startswith("LEASELOST")


def translate_acquire_error(exc: ResponseError) -> Exception:
    text = str(exc)
    if text.startswith("POOLFULL"):
        return PoolFull(text, retry_after_ms(text))
    if text.startswith("POOLRESUMING"):
        return PoolResuming(text, retry_after_ms(text))
    if text.startswith("NOREPLICAS"):
        # Its text names the lag setting in ms, not a time to wait.
        return NoReplicas(text, None)
    return exc


def integer(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        # Some clients (or response callbacks) hand integers back as strings.
        if isinstance(value, (bytes, str)):
            try:
                return int(value)
            except ValueError:
                pass
        raise ProtocolError(f"{what}: expected an integer, got {value!r}")
    return value


def array(value: Any, n: Optional[int], what: str) -> List[Any]:
    if not isinstance(value, (list, tuple)):
        raise ProtocolError(f"{what}: expected an array, got {value!r}")
    if n is not None and len(value) != n:
        raise ProtocolError(f"{what}: expected {n} elements, got {value!r}")
    return list(value)


class Grant(NamedTuple):
    """A ``WORKER.ACQUIRE`` reply."""

    id: int
    token: int
    expires_at_ms: int
    not_before_ms: int


class Lease(NamedTuple):
    """One live lease as ``WORKER.LIST`` and ``WORKER.ROUTE`` report it."""

    id: int
    holder: Optional[bytes]
    token: int
    expires_at_ms: int
    not_before_ms: int


def parse_grant(reply: Any) -> Grant:
    a = array(reply, 4, "WORKER.ACQUIRE")
    return Grant(*(integer(x, "WORKER.ACQUIRE") for x in a))


def parse_renew(reply: Any) -> "tuple[int, int]":
    a = array(reply, 2, "WORKER.RENEW")
    return integer(a[0], "WORKER.RENEW"), integer(a[1], "WORKER.RENEW")


def parse_lease(entry: Any) -> Lease:
    a = array(entry, 5, "lease")
    holder = a[1]
    if isinstance(holder, str):
        holder = holder.encode("utf-8")
    elif holder is not None and not isinstance(holder, bytes):
        raise ProtocolError(f"lease holder: expected a string or nil, got {holder!r}")
    return Lease(
        integer(a[0], "lease id"),
        holder,
        integer(a[2], "lease token"),
        integer(a[3], "lease expiry"),
        integer(a[4], "lease not-before"),
    )


def parse_leases(reply: Any) -> List[Lease]:
    return [parse_lease(e) for e in array(reply, None, "lease list")]


def parse_map(reply: Any) -> Dict[str, Any]:
    """A RESP3 map or a RESP2 flat ``field, value, ...`` array, with str keys."""
    if isinstance(reply, dict):
        return {to_str(k): to_str(v) for k, v in reply.items()}
    a = array(reply, None, "map")
    if len(a) % 2:
        raise ProtocolError(f"map: odd number of elements in {reply!r}")
    return {to_str(a[i]): to_str(a[i + 1]) for i in range(0, len(a), 2)}


def client_getter(redis: Any) -> Callable[[], Any]:
    """``redis`` is a client (anything with ``execute_command``) or a zero-argument callable
    returning the client to use now (to follow a failover)."""
    if hasattr(redis, "execute_command"):
        return lambda: redis
    if callable(redis):
        return redis
    raise TypeError("redis must be a redis-py client or a callable returning one")


def lease_lost_from(exc: BaseException) -> LeaseLost:
    return LeaseLost(f"lease lost: {exc}", final=True)
