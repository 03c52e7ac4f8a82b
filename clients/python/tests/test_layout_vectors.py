"""Snowflake layouts and ID fields against the cross-language known answers
(``fixtures/vectors.json``: ``layouts`` and ``parse``).

The client's :class:`Layout` is the layout of IDs it makes itself: 63 bits, the time field in
milliseconds. A named layout of the module that is not of that shape (``JS-SAFE``: 53 bits, a
10 ms tick) cannot be written as a client ``Layout``; its parse vectors are skipped, with the
reason, and ``test_layouts_the_client_cannot_express`` pins that down so the skip is revisited
if the client learns a time unit.
"""

from typing import Any, Dict, Optional

import pytest

from fakepool import FakePoolServer
from idgen_client import DEFAULT_EPOCH_MS, Layout, LeasedSnowflake, ManualClock
from vectors import layouts, load


def _why_not(v: Dict[str, Any]) -> Optional[str]:
    """Why the named layout ``v`` is no client ``Layout`` (None if it is one)."""
    bits = v["time_bits"] + v["worker_bits"] + v["sequence_bits"]
    reasons = []
    if v["time_unit_ms"] != 1:
        reasons.append(f"a {v['time_unit_ms']} ms tick (the client's Layout counts ms)")
    if bits != 63:
        reasons.append(f"{bits} bits (the client's Layout has 63)")
    if not reasons:
        return None
    return f"layout {v['name']}: " + " and ".join(reasons)


def _client_layout(v: Dict[str, Any]) -> Layout:
    return Layout(
        v["time_bits"], v["worker_bits"], v["sequence_bits"], epoch_ms=v["epoch_ms"]
    ).check()


LAYOUTS = layouts()

PARSE = [
    pytest.param(
        LAYOUTS[p["layout"]],
        int(p["id"]),
        (p["timestamp_ms"], p["worker"], p["sequence"]),
        id=f"{p['layout']}-{p['id']}",
        marks=[pytest.mark.skip(reason=why)] if why else [],
    )
    for p in load()["parse"]
    for why in [_why_not(LAYOUTS[p["layout"]])]
]


def test_vectors_are_there():
    assert "DEFAULT" in LAYOUTS
    assert sum(1 for p in load()["parse"] if p["layout"] == "DEFAULT") >= 3


def test_default_layout_is_the_clients_default():
    v = LAYOUTS["DEFAULT"]
    assert _why_not(v) is None
    assert _client_layout(v) == Layout()
    assert v["epoch_ms"] == DEFAULT_EPOCH_MS


def test_layouts_the_client_cannot_express():
    # JS-SAFE has a 10 ms tick and 53 bits; the client's Layout has neither. If the client
    # gains a time unit, this fails: then test JS-SAFE's parse vectors instead of skipping them.
    v = LAYOUTS["JS-SAFE"]
    assert _why_not(v) is not None
    assert "time_unit_ms" not in Layout._fields
    with pytest.raises(ValueError):
        _client_layout(v)


@pytest.mark.parametrize("v,id_,fields", PARSE)
def test_parse_known_answers(v, id_, fields):
    lay = _client_layout(v)
    assert lay.parse(id_) == fields
    assert lay.compose(*fields) == id_


def test_leased_snowflake_parses_the_default_vectors():
    # LeasedSnowflake.parse, on a generator leased from the in-memory pool (no server).
    clock = ManualClock(wall_ms=1_800_000_000_000)
    g = LeasedSnowflake(FakePoolServer(clock), "pool", 3000, clock=clock, renew=False)
    try:
        for p in load()["parse"]:
            if p["layout"] == "DEFAULT":
                assert g.parse(int(p["id"])) == (p["timestamp_ms"], p["worker"], p["sequence"])
    finally:
        g.close()
