"""A threaded HTTP server in the background, for the simulator, the demo and tests.

Production Central Systems run behind gunicorn (see the README); a charge point simulator, a demo
and an end-to-end test need a real HTTP server they can start and stop from Python, on a port the
OS picks when asked for port 0.
"""

from __future__ import annotations

import logging
import threading

from werkzeug.serving import WSGIRequestHandler, make_server


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:  # the apps log one line per message
        pass


class BackgroundServer:
    """Serve ``app`` on ``host:port`` in a daemon thread until ``stop()``."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0):
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.server = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
        self.server.daemon_threads = True
        self.host = host
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, name=f"http-{self.port}",
                                       daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> BackgroundServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
