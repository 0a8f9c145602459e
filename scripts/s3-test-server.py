#!/usr/bin/env python3
"""The S3 API server for tests: moto, with one request handled at a time.

moto checks `If-None-Match` / `If-Match` and then writes without a lock, so two racing conditional PUTs can
both succeed under load, which AWS S3 never allows. Serialising requests gives moto S3's atomic
compare-and-set semantics (writes only: PUT and POST); nothing else changes. Usage: s3-test-server.py HOST PORT
"""
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

host, port = sys.argv[1], int(sys.argv[2])
backend = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()


def app(environ, start_response):
    # Only writes can race on a precondition; reads go straight through.
    if environ.get("REQUEST_METHOD") in ("PUT", "POST"):
        with lock:
            return list(backend(environ, start_response))
    return backend(environ, start_response)


run_simple(host, port, app, threaded=True, use_reloader=False)
