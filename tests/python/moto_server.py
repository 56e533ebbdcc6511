"""moto's S3 server for the tests, serving one request at a time.

    python moto_server.py        # listens on 127.0.0.1, on a free port

moto 5's PutObject checks `If-None-Match: *` and `If-Match` and only then
writes, with no lock in between (moto/s3/responses.py). On the threaded
werkzeug server of `python -m moto.server`, two concurrent conditional
creates of one key can therefore both succeed, which S3 never allows, and a
test of many writers then fails for the server's sake, not dman's. Here a
lock is held around each request, so every check-and-write is atomic as on
S3, while werkzeug keeps its threads and keep-alive connections.

Like `python -m moto.server -H 127.0.0.1 -p 0`, it prints werkzeug's
` * Running on http://127.0.0.1:PORT` once it listens; the Rust side
(test-support/src/s3/moto.rs) reads the port from that line.
"""

import os
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


class OneAtATime:
    """A WSGI app that runs `app` for one request at a time, its response
    body read whole under the lock (moto's bodies are in memory anyway)."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            result = self.app(environ, start_response)
            try:
                body = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        return [body]


def main():
    os.environ.setdefault("MOTO_PORT", "0")
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        "127.0.0.1",
        0,
        OneAtATime(app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
