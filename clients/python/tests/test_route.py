"""The route hash against the known-answer vectors of the module's reference implementation
(`route_known_answers` in the pool core) and the contract's own example."""

import pytest

from idgen_client import route_ids, route_weight

WEIGHTS = [
    (b"", 0, 0xEA29BBF411B31272),
    (b"", 1, 0xCD54827A418D670A),
    (b"a", 0, 0x92449CBCB6BDD947),
    (b"order:42", 7, 0x3DD03C1CF18F2C95),
    (b"order:42", 1023, 0x7852E89B6881E8D3),
    (b"\x00\xff", 1_048_575, 0x495A2093B0785D4A),
    ("tâche".encode(), 12, 0xE80DCC64245F1FF1),
]

TEN = list(range(10))
ROUTES = [
    (b"", [0, 1, 2, 3, 4], [0, 1, 3]),
    (b"a", [0, 1, 2, 3, 4], [2, 0, 1]),
    (b"order:42", [0, 1, 2, 3, 4], [2, 4, 1]),
    (b"user/7f3a", [0, 1, 2, 3, 4], [0, 4, 1]),
    (b"", [5, 17, 1023, 1_048_575], [1_048_575, 1023, 17]),
    (b"order:42", [5, 17, 1023, 1_048_575], [1_048_575, 1023, 5]),
    ("tâche".encode(), [5, 17, 1023, 1_048_575], [17, 1_048_575, 5]),
    (b"a", TEN, [7, 2, 0]),
    (b"\x00\xff", TEN, [6, 7, 2]),
]


@pytest.mark.parametrize("key,wid,weight", WEIGHTS)
def test_weight_known_answers(key, wid, weight):
    assert route_weight(key, wid) == weight


def test_contract_example():
    assert route_weight(b"order:42", 1023) == 0x7852E89B6881E8D3


def test_str_and_int_keys_hash_as_redis_sends_them():
    assert route_weight("tâche", 12) == 0xE80DCC64245F1FF1
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
