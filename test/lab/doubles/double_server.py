"""What the lab's AWS doubles share: their command line and their HTTP server loop."""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
from lab_http import ThreadingHTTPServer  # noqa: E402 (the harness directory is not a package)


def parse_arguments(description, default_port, extra=()):
    """--address, --port, --config (JSON) and --record (JSON lines), plus `extra` required options."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--address", required=True)
    parser.add_argument("--port", type=int, default=default_port)
    parser.add_argument("--config", required=True)
    parser.add_argument("--record", required=True)
    for option in extra:
        parser.add_argument(option, required=True)
    args = parser.parse_args()
    with open(args.config, encoding="utf-8") as config_file:
        args.config = json.load(config_file)
    return args


def serve(address, port, handler):
    """Listens, prints "ready <address>:<port>" (the harness waits for it), serves until killed."""
    server = ThreadingHTTPServer((address, port), handler)
    print("ready %s:%d" % (address, server.server_address[1]), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0
