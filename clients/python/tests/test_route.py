"""The route hash against the cross-language known answers (``fixtures/vectors.json``, the same
vectors as ``route_known_answers`` in the pool core) and the contract's own example."""

import pytest

from idgen_client import route_ids, route_weight
from vectors import load


def _key(v):
    return bytes.fromhex(v["key_hex"])


def _name(v):
    return v["key_hex"] or "empty"


WEIGHTS = [
    pytest.param(_key(v), v["id"], int(v["weight"], 16), id=f"{_name(v)}-{v['id']}")
    for v in load()["route_weight"]
]

ROUTES = [
    pytest.param(_key(v), v["ids"], v["top"], id=f"{_name(v)}-{len(v['ids'])}ids")
    for v in load()["route"]
]


def _utf8(key):
    try:
        return key.decode("utf-8")
    except UnicodeDecodeError:
        return None


# The weight vectors whose keys are text: a str key hashes as its UTF-8 bytes.
TEXT_WEIGHTS = [
    pytest.param(_utf8(p.values[0]), *p.values[1:], id=p.id)
    for p in WEIGHTS
    if _utf8(p.values[0]) is not None
]


def test_vectors_are_there():
    # An empty list would make the parametrized tests below pass by running nothing.
    assert len(WEIGHTS) >= 5 and len(ROUTES) >= 5
    assert any(not t.isascii() for t, *_ in (p.values for p in TEXT_WEIGHTS))


@pytest.mark.parametrize("key,wid,weight", WEIGHTS)
def test_weight_known_answers(key, wid, weight):
    assert route_weight(key, wid) == weight


def test_contract_example():
    assert route_weight(b"order:42", 1023) == 0x7852E89B6881E8D3


@pytest.mark.parametrize("text,wid,weight", TEXT_WEIGHTS)
def test_str_keys_hash_as_utf8(text, wid, weight):
    assert route_weight(text, wid) == weight


def test_int_keys_hash_as_redis_sends_them():
    assert route_weight(42, 3) == route_weight(b"42", 3)


@pytest.mark.parametrize("key,ids,top3", ROUTES)
def test_route_known_answers(key, ids, top3):
    assert route_ids(key, ids, 3) == top3
    assert route_ids(key, ids, 1) == top3[:1]
    assert route_ids(key, list(reversed(ids)), 3) == top3


def test_route_edges():
    assert route_ids(b"a", [], 3) == []
    assert len(route_ids(b"a", [4, 9], 5)) == 2
    assert route_ids(b"a", [4, 9], 0) == []
    with pytest.raises(ValueError):
        route_weight(b"a", -1)


def test_ties_rank_higher_id_first(monkeypatch):
    import idgen_client.route as route

    monkeypatch.setattr(route, "_finalize", lambda z: 12345)  # every weight equal
    assert route.route_ids(b"k", [3, 10, 7, 1], 4) == [10, 7, 3, 1]
