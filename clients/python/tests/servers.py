"""Start and stop real redis-server processes with the idgen module, on free loopback ports."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import List, Optional

import redis

REPO = Path(__file__).resolve().parents[3]


def module_path() -> Path:
    env = os.environ.get("IDGEN_MODULE")
    return Path(env) if env else REPO / "target" / "release" / "libidgen.so"


def redis_server_bin() -> str:
    return (
        os.environ.get("IDGEN_SERVER")
        or os.environ.get("REDIS_SERVER")
        or shutil.which("redis-server")
        or "redis-server"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """One redis-server with the module loaded. ``start()`` again after ``kill9()`` restarts it
    on the same port and directory (so it loads its AOF/RDB)."""

    def __init__(
        self, workdir: Path, extra: Optional[List[str]] = None, port: Optional[int] = None
    ):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.extra = list(extra or [])
        self.proc: Optional[subprocess.Popen] = None
        self.module = module_path()

    @property
    def log(self) -> Path:
        return self.dir / "redis.log"

    def args(self) -> List[str]:
        return [
            redis_server_bin(),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.dir),
            "--logfile",
            str(self.log),
            "--save",
            "",
            "--appendonly",
            "no",
            "--enable-debug-command",
            "yes",
            "--repl-diskless-sync-delay",
            "0",
            "--loadmodule",
            str(self.module),
            # Without AOF the module refuses sequences and pools by default; these test servers
            # accept the risk (the module's tests cover the refusal).
            "idgen.allow-unsafe-persistence",
            "yes",
        ] + self.extra

    def start(self, timeout: float = 15.0) -> "RedisServer":
        if not self.module.exists():
            raise RuntimeError(
                f"idgen module not found at {self.module}: run `make build` or set IDGEN_MODULE"
            )
        self.proc = subprocess.Popen(
            self.args(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        give_up = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise RuntimeError(
                    f"redis-server exited ({self.proc.returncode}): {err}\n{self.tail()}"
                )
            try:
                c = redis.Redis(port=self.port, socket_timeout=1, protocol=2)
                if c.ping():
                    # Still loading answers PING with an error on most commands: wait for it.
                    info = c.info("persistence")
                    c.close()
                    if not int(info.get("loading", 0)):
                        return self
            except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
                pass
            if time.monotonic() > give_up:
                self.stop()
                raise RuntimeError(f"redis-server on {self.port} did not start\n{self.tail()}")
            time.sleep(0.02)

    def tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def client(self, **kw) -> redis.Redis:
        kw.setdefault("socket_timeout", 5)
        return redis.Redis(host="127.0.0.1", port=self.port, **kw)

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill9()
        if self.proc.stderr:
            self.proc.stderr.close()
        self.proc = None


def has_worker_commands(client: redis.Redis) -> bool:
    # "COMMAND INFO" as one name: redis-py splits it into two arguments but applies no reply
    # callback (its COMMAND callback cannot parse the nil of an unknown command).
    info = client.execute_command("COMMAND INFO", "WORKER.ACQUIRE")
    return bool(info) and info[0] is not None


def run_in_child(fn):
    """fn() in a forked child; returns what it returned (repr'd through a pipe)."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            out = repr(fn())
        except BaseException as e:  # noqa: BLE001
            out = repr(("raised", type(e).__name__, str(e)))
        os.write(wfd, out.encode())
        os._exit(0)
    os.close(wfd)
    data = b""
    while True:
        chunk = os.read(rfd, 65536)
        if not chunk:
            break
        data += chunk
    os.close(rfd)
    os.waitpid(pid, 0)
    return eval(data.decode())  # noqa: S307 (our own repr)
