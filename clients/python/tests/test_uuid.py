"""UUID.NEXT through redis-py: the replies are version-7 UUIDs of the RFC 4122/9562 variant, in
issue order, in every client shape (RESP2/RESP3, bytes/str)."""

import uuid


def _text(v):
    return v.decode() if isinstance(v, bytes) else v


def test_uuid_next_is_version_7_rfc_variant(r, name):
    one = uuid.UUID(_text(r.execute_command("UUID.NEXT", name)))
    assert one.version == 7
    assert one.variant == uuid.RFC_4122
    many = [_text(x) for x in r.execute_command("UUID.NEXT", name, "COUNT", 100)]
    parsed = [uuid.UUID(s) for s in many]
    assert all(u.version == 7 and u.variant == uuid.RFC_4122 for u in parsed)
    assert [str(u) for u in parsed] == many, "canonical lowercase text"
    assert many == sorted(many) and len(set(many)) == 100
    assert one < parsed[0]


def test_uuid_binary_and_parse(r3, name):
    raw = r3.execute_command("UUID.NEXT", name, "FORMAT", "BINARY")
    u = uuid.UUID(bytes=raw)
    assert u.version == 7 and u.variant == uuid.RFC_4122
    p = r3.execute_command("UUID.PARSE", name, str(u))
    assert p[b"timestamp"] == u.int >> 80


def _fields(reply):
    """UUID.PARSE's reply as {str: value}: a map on RESP3, a flat list on RESP2."""
    if isinstance(reply, dict):
        items = reply.items()
    else:
        items = zip(reply[::2], reply[1::2])
    return {_text(k): v for k, v in items}


def test_ulid_format_reads_with_python_ulid(r, name):
    """FORMAT ULID output is a ULID to an independent reader (PyPI python-ulid), whose time is
    UUID.PARSE's timestamp, and it is the same 128 bits as the UUID."""
    from ulid import ULID

    for s in [_text(r.execute_command("UUID.NEXT", name, "FORMAT", "ULID"))] + [
        _text(x) for x in r.execute_command("UUID.NEXT", name, "COUNT", 50, "FORMAT", "ULID")
    ]:
        assert len(s) == 26
        u = ULID.from_str(s)
        assert str(u) == s.upper()
        ts = _fields(r.execute_command("UUID.PARSE", name, s))["timestamp"]
        assert u.milliseconds == ts
        as_uuid = u.to_uuid()
        assert as_uuid.version == 7 and as_uuid.variant == uuid.RFC_4122
        # The same ID in UUID text parses to the same fields.
        assert _fields(r.execute_command("UUID.PARSE", name, str(as_uuid)))["timestamp"] == ts


def test_ulid_sorts_in_issue_order(r, name):
    from ulid import ULID

    texts = [_text(x) for x in r.execute_command("UUID.NEXT", name, "COUNT", 200, "FORMAT", "ULID")]
    parsed = [ULID.from_str(s) for s in texts]
    assert parsed == sorted(parsed) and len(set(texts)) == 200
    assert [u.milliseconds for u in parsed] == sorted(u.milliseconds for u in parsed)
