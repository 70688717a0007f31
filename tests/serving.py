"""Real servers for tests: an ASGI app under uvicorn on a free loopback port, in a daemon
thread of the test process (what the web, TAXII and sync tests talk to over HTTP)."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn

#: seconds a server may take to start (only catches a hang: a loaded CI machine is slow)
START_TIMEOUT = 60


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def serve(app: Any, port: int) -> tuple[uvicorn.Server, threading.Thread]:
    """``app`` served on ``127.0.0.1:port``, returned once it accepts connections; stop it
    with ``server.should_exit = True`` and ``thread.join()``."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the test server on port {port} did not start")
        time.sleep(0.02)
    return server, thread
