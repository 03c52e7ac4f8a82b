import itertools
import os

import pytest

from servers import RedisServer, has_worker_commands, module_path

_names = itertools.count()


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """One redis-server with the module for the session (keyspace events for the pool type on)."""
    srv = RedisServer(
        tmp_path_factory.mktemp("redis"), extra=["--notify-keyspace-events", "Kd"]
    ).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def worker_commands(server):
    c = server.client(protocol=2)
    try:
        return has_worker_commands(c)
    finally:
        c.close()


@pytest.fixture
def need_worker(worker_commands):
    if not worker_commands:
        pytest.skip(
            f"the module at {module_path()} has no WORKER.* commands "
            "(build this repository with `cargo build --release`, "
            "or set IDGEN_MODULE to a libidgen.so that has them)"
        )


# Every client shape redis-py offers: RESP2 / RESP3, bytes / str replies.
CLIENT_KINDS = [
    pytest.param({"protocol": 2}, id="resp2"),
    pytest.param({"protocol": 3}, id="resp3"),
    pytest.param({"protocol": 3, "decode_responses": True}, id="resp3-str"),
    pytest.param({"protocol": 2, "decode_responses": True}, id="resp2-str"),
]


@pytest.fixture(params=CLIENT_KINDS)
def r(request, server):
    c = server.client(**request.param)
    yield c
    c.close()


@pytest.fixture
def r3(server):
    c = server.client(protocol=3)
    yield c
    c.close()


@pytest.fixture
def name(request):
    """A key name unique to the test."""
    return f"t{os.getpid()}:{next(_names)}:{request.node.name[:40]}"
