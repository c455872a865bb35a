#!/usr/bin/env python3
"""TEST DOUBLE of the EC2 instance metadata service, IMDSv2 only (an instance launched with
http_tokens = required), for the network-namespace lab. Started inside the NAT namespace.

- PUT /latest/api/token needs X-aws-ec2-metadata-token-ttl-seconds (1-21600), else 400;
  it answers a fresh token.
- Every GET needs a valid X-aws-ec2-metadata-token, else 401 (as IMDS does with tokens required).
- Answers instance-id, placement/region, mac, network/interfaces/macs/ (list),
  network/interfaces/macs/<mac>/interface-id and dynamic/instance-identity/document from the
  config file; anything else is 404.
- Appends every request, as one JSON line, to the record file.

Usage: imds_double.py --address A --port P --config FILE --record FILE
Config: {"instanceId": "i-…", "region": "eu-central-1", "interfaces": {"<mac>": "eni-…"}}
Prints "ready <address>:<port>" on stdout once it listens.
"""
import json
import secrets
import sys
from http.server import BaseHTTPRequestHandler

from double_server import parse_arguments, serve

MAX_TTL_SECONDS = 21600


def build_handler(config, record_path):
    tokens = set()
    interfaces = {mac.lower(): eni for mac, eni in config["interfaces"].items()}
    primary_mac = next(iter(interfaces))

    def metadata(path):
        """The value of a metadata path (after /latest/), or None when there is none."""
        values = {
            "meta-data/instance-id": config["instanceId"],
            "meta-data/placement/region": config["region"],
            "meta-data/placement/availability-zone": config["region"] + "a",
            "meta-data/mac": primary_mac,
            "meta-data/network/interfaces/macs/": "\n".join(mac + "/" for mac in interfaces),
            "dynamic/instance-identity/document": json.dumps(
                {"instanceId": config["instanceId"], "region": config["region"], "accountId": "111122223333"}
            ),
        }
        for mac, eni in interfaces.items():
            values["meta-data/network/interfaces/macs/%s/interface-id" % mac] = eni
            values["meta-data/network/interfaces/macs/%s/mac" % mac] = mac
        return values.get(path)

    class Handler(BaseHTTPRequestHandler):
        server_version = "EC2ws"
        sys_version = ""

        def record(self, status):
            entry = {
                "method": self.command,
                "path": self.path,
                "status": status,
                "token": bool(self.headers.get("X-aws-ec2-metadata-token")),
            }
            with open(record_path, "a", encoding="utf-8") as record:
                record.write(json.dumps(entry) + "\n")

        def answer(self, status, body=""):
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            self.record(status)

        def do_PUT(self):
            if self.path != "/latest/api/token":
                return self.answer(404, "Not Found")
            ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds", "")
            if not ttl.isdigit() or not 1 <= int(ttl) <= MAX_TTL_SECONDS:
                return self.answer(400, "Bad Request: X-aws-ec2-metadata-token-ttl-seconds (1-21600) is required")
            token = secrets.token_urlsafe(32)
            tokens.add(token)
            return self.answer(200, token)

        def do_GET(self):
            if self.headers.get("X-aws-ec2-metadata-token") not in tokens:
                return self.answer(401, "Unauthorized")
            if not self.path.startswith("/latest/"):
                return self.answer(404, "Not Found")
            value = metadata(self.path[len("/latest/"):])
            return self.answer(404, "Not Found") if value is None else self.answer(200, value)

        def log_message(self, *_args):
            pass  # the record file is the log

    return Handler


def main():
    args = parse_arguments(__doc__.splitlines()[0], default_port=80)
    return serve(args.address, args.port, build_handler(args.config, args.record))


if __name__ == "__main__":
    sys.exit(main())
