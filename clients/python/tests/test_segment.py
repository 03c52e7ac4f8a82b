"""SegmentSequence against a real server: SEQ.NEXTBATCH segments served in-process."""

import threading
import time

import pytest

from idgen_client import SegmentSequence
from servers import run_in_child


def test_values_follow_the_sequence(r, name):
    with SegmentSequence(r, name, segment=100, min_segment=10) as s:
        vals = [s.next_value() for _ in range(250)]
    assert vals == list(range(1, 251))
    # What the instance did not use is skipped, never reissued.
    nxt = r.execute_command("SEQ.NEXT", name)
    assert nxt > 250


def test_increment_and_start_are_honoured(r, name):
    r.execute_command("SEQ.CREATE", name, "START", 1000, "INCREMENT", 7)
    with SegmentSequence(r, name, segment=10, min_segment=1) as s:
        a = [s.next_value() for _ in range(25)]
        b = s.next_values(40)
    got = a + b
    assert got == list(range(1000, 1000 + 65 * 7, 7))


def test_segment_of_one(r, name):
    with SegmentSequence(r, name, segment=1, min_segment=1, max_segment=1) as s:
        assert [s.next_value() for _ in range(5)] == [1, 2, 3, 4, 5]
        assert s.next_values(3) == [6, 7, 8]


def test_batches_and_singles_interleave(r, name):
    with SegmentSequence(r, name, segment=50, min_segment=50) as s:
        got = []
        for k in range(1, 60):
            got += s.next_values(k)
            got.append(s.next_value())
        assert got == list(range(1, len(got) + 1))
        assert s.next_values(0) == []


def test_prefetch_happens_before_the_segment_runs_out(r, name):
    with SegmentSequence(r, name, segment=1000, min_segment=1000, max_segment=1000) as s:
        for _ in range(800):
            s.next_value()
        deadline = time.monotonic() + 5
        while s.fetches < 2 and time.monotonic() < deadline:
            time.sleep(0.001)
        assert s.fetches == 2  # the next segment arrived while 200 values were left
        waits = s.waits
        s.next_values(1200)
        assert s.waits == waits  # no caller waited for it


def test_segment_grows_under_load_and_shrinks_when_idle(r, name):
    with SegmentSequence(
        r, name, segment=100, min_segment=100, max_segment=100_000, target_ms=1000
    ) as s:
        for _ in range(300):
            s.next_values(100)
        assert 1000 < s.segment <= 100_000
    # Segments that last far longer than 4 x target_ms: each request halves, down to the floor.
    with SegmentSequence(r, name, segment=1000, min_segment=200, target_ms=10) as s:
        for _ in range(4):
            size = s.segment
            for _ in range(10):
                s.next_values(size // 10)
                time.sleep(0.01)
        assert s.segment == 200


def test_threads_get_unique_increasing_values(r, name):
    s = SegmentSequence(r, name, segment=64, min_segment=16, max_segment=4096, target_ms=50)
    out = [[] for _ in range(6)]

    def work(i):
        for k in range(400):
            out[i].append(s.next_value())
            out[i].extend(s.next_values(k % 37))

    ts = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    s.close()
    all_vals = [v for o in out for v in o]
    assert len(all_vals) == len(set(all_vals))
    for o in out:
        assert o == sorted(o)


def test_two_instances_share_a_key_without_overlap(server, name):
    a_client, b_client = server.client(protocol=2), server.client(protocol=3)
    a = SegmentSequence(a_client, name, segment=10, min_segment=10)
    b = SegmentSequence(b_client, name, segment=10, min_segment=10)
    got = []
    for _ in range(200):
        got.append(a.next_value())
        got += b.next_values(3)
    a.close()
    b.close()
    assert len(got) == len(set(got))


def test_server_errors_reach_the_caller(r, name):
    r.execute_command("SEQ.CREATE", name, "MAXVALUE", 25)
    s = SegmentSequence(r, name, segment=10, min_segment=10, max_segment=10)
    assert s.next_values(20) == list(range(1, 21))
    with pytest.raises(Exception) as e:
        s.next_values(10)
    assert "not enough values" in str(e.value) or "exhausted" in str(e.value)
    s.close()
    r.set(name + ":str", "x")
    s = SegmentSequence(r, name + ":str")
    with pytest.raises(Exception) as e:
        s.next_value()
    assert "WRONGTYPE" in str(e.value)
    s.close()


def test_rate_single_and_batch(server, name):
    """Rates are measured by bench.py; here only a floor a shared machine always meets."""
    c = server.client()
    with SegmentSequence(c, name) as s:
        s.next_values(100_000)  # let the segment grow
        t = time.perf_counter()
        n = 0
        while time.perf_counter() - t < 0.3:
            s.next_values(1000)
            n += 1000
        rate = n / (time.perf_counter() - t)
    assert rate > 300_000


def test_forked_child_fetches_its_own_segments(server, name):
    c = server.client()
    s = SegmentSequence(c, name, segment=100, min_segment=100, max_segment=100)
    parent = [s.next_value()]
    child = run_in_child(lambda: s.next_values(150))
    parent += s.next_values(150)
    s.close()
    c.close()
    assert len(child) == 150
    assert not set(child) & set(parent)
