"""Small real `Agent`s and a loopback uvicorn runner for the A2A transport tests.

`echo_agent()` has one skill per behaviour the transport must carry: a result with ints and
nested lists (`echo`), a refusal (`refuse` raises QuestionError with closest sources), a bug
(`boom` raises RuntimeError) and a slow skill (`slow`). `Served` runs any ASGI app on a free
127.0.0.1 port in a background thread, started and stopped within bounded waits."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn
from pydantic import BaseModel, Field

from lexiquery.agents.base import Agent, SkillSpec
from lexiquery.errors import QuestionError


class EchoIn(BaseModel):
    text: str
    n: int = 1


class EchoOut(BaseModel):
    text: str
    n: int
    items: list[int]
    nested: dict[str, Any]


class SlowIn(BaseModel):
    seconds: float = Field(le=5)


class Empty(BaseModel):
    pass


def _echo(req: EchoIn) -> EchoOut:
    return EchoOut(text=req.text * req.n, n=req.n, items=list(range(req.n)),
                   nested={"ratio": 0.5, "count": req.n, "none": None, "flag": True})


def _refuse(req: EchoIn) -> EchoOut:
    raise QuestionError(f"no source holds {req.text!r}", closest_sources=["signin_logs",
                                                                          "audit_logs"],
                        hint="name a source")


def _boom(req: EchoIn) -> EchoOut:
    raise RuntimeError("secret local detail /etc/passwd")


def _slow(req: SlowIn) -> Empty:
    time.sleep(req.seconds)
    return Empty()


def echo_agent(name: str = "echo", platform: str | None = None) -> Agent:
    tags = (f"platform:{platform}",) if platform else ()
    spec = lambda sid, desc, i=EchoIn, o=EchoOut: SkillSpec(  # noqa: E731
        id=sid, name=sid.title(), description=desc, input=i, output=o,
        tags=("test", *tags), examples=(f"{sid} hello",))
    return Agent(name=name, description=f"The {name} test agent",
                 skills=[spec("echo", "Repeats text n times"),
                         spec("refuse", "Always refuses"),
                         spec("boom", "Always breaks"),
                         spec("slow", "Sleeps", SlowIn, Empty)],
                 handlers={"echo": _echo, "refuse": _refuse, "boom": _boom, "slow": _slow},
                 platform=platform, text_skill="echo", text_field="text")


class Served:
    """`build(base_url)` → ASGI app, served on 127.0.0.1:<free port> until `stop()`;
    `config(app)`, when given, is the uvicorn configuration to serve it with."""

    def __init__(self, build: Callable[[str], Any],
                 config: Callable[[Any], uvicorn.Config] | None = None) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = build(self.url)
        self.server = uvicorn.Server(config(self.app) if config else uvicorn.Config(
            self.app, log_level="warning", lifespan="auto", timeout_graceful_shutdown=2))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)

    def __enter__(self) -> "Served":
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


def closed_port_url() -> str:
    """A loopback URL nothing listens on (bound, then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"
