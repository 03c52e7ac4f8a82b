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
