#!/usr/bin/env python3
"""TEST DOUBLE of the EC2 Query API for the route-claim calls, reached by the real AWS CLI
through an endpoint override (AWS_ENDPOINT_URL_EC2 / --endpoint-url). Signatures are not
checked. Started inside the NAT namespace.

It keeps route tables in memory with real-EC2 semantics for the default route:
- ReplaceRoute succeeds only when the table has a 0.0.0.0/0 route (else InvalidRoute.NotFound);
- CreateRoute succeeds only when it has none (else RouteAlreadyExists);
- an unknown table answers InvalidRouteTableID.NotFound;
- DescribeRouteTables lists the tables (optionally filtered by RouteTableId.N).

Scripted refusals, which moto cannot do: "refusals" lists how the first calls are answered, in
arrival order and whatever their action: an error kind from REFUSALS (an IAM policy EC2 does not
see yet, throttling, server errors), or null to answer that call normally. Calls after the list
are answered normally.

Every call is appended, as one JSON line, to the record file; after every change the whole
state ({table: {"defaultRoute": eni-or-null}}) is rewritten to the state file.

Usage: ec2_api_double.py --address A --port P --config FILE --record FILE --state FILE
Config: {"routeTables": {"rtb-…": {"defaultRoute": "eni-…" | null}}, "refusals": ["UnauthorizedOperation", null, …]}
Prints "ready <address>:<port>" on stdout once it listens.
"""
import json
import os
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse
from xml.sax.saxutils import escape

from double_server import parse_arguments, serve

NAMESPACE = "http://ec2.amazonaws.com/doc/2016-11-15/"
DEFAULT_ROUTE = "0.0.0.0/0"

# Refusal kind -> (HTTP status, message): what EC2 answers, with the kind as its error code.
# "HTTP503" is a 503 with an HTML page instead of an EC2 error (a proxy in the way), which the
# CLI reports by its status alone: "An error occurred (503)".
REFUSALS = {
    "UnauthorizedOperation": (403, "You are not authorized to perform this operation. (double: scripted refusal)"),
    "RequestLimitExceeded": (503, "Request limit exceeded. (double: scripted refusal)"),
    "Unavailable": (503, "The server is overloaded and can't handle the request. (double: scripted refusal)"),
    "InternalError": (500, "An internal error has occurred. (double: scripted refusal)"),
    "HTTP503": (503, None),
}

SERVICE_UNAVAILABLE_PAGE = "<html><body><h1>503 Service Unavailable</h1></body></html>"


class Refusals:
    """The scripted answers of the first calls; thread-safe, since the server is threaded."""

    def __init__(self, kinds):
        unknown = [kind for kind in kinds if kind is not None and kind not in REFUSALS]
        if unknown:
            raise SystemExit("unknown refusal kinds %s (known: %s)" % (unknown, ", ".join(REFUSALS)))
        self.lock = threading.Lock()
        self.pending = list(kinds)

    def next(self):
        """The refusal kind for the call arriving now, or None to answer it normally."""
        with self.lock:
            return self.pending.pop(0) if self.pending else None


class RouteTables:
    """The double's EC2 state; one lock, since the server is threaded."""

    def __init__(self, config, state_path):
        self.lock = threading.Lock()
        self.state_path = state_path
        self.tables = {
            table_id: {"defaultRoute": spec.get("defaultRoute")} for table_id, spec in config["routeTables"].items()
        }
        self.save()

    def save(self):
        state = {table_id: {"defaultRoute": table["defaultRoute"]} for table_id, table in self.tables.items()}
        with open(self.state_path + ".tmp", "w", encoding="utf-8") as state_file:
            json.dump(state, state_file)
        os.replace(self.state_path + ".tmp", self.state_path)

    def write_route(self, action, params):
        """Applies CreateRoute/ReplaceRoute; returns None on success or (status, code, message)."""
        table_id = params.get("RouteTableId", "")
        destination = params.get("DestinationCidrBlock", "")
        eni = params.get("NetworkInterfaceId", "")
        with self.lock:
            table = self.tables.get(table_id)
            if table is None:
                return 400, "InvalidRouteTableID.NotFound", "The routeTable ID '%s' does not exist" % table_id
            if destination != DEFAULT_ROUTE:
                return 400, "InvalidParameterValue", "the double handles only %s, got '%s'" % (DEFAULT_ROUTE, destination)
            if not eni.startswith("eni-"):
                return 400, "MissingParameter", "the double expects a NetworkInterfaceId target"
            if action == "ReplaceRoute" and table["defaultRoute"] is None:
                return 400, "InvalidRoute.NotFound", "There is no route defined for '%s' in the route table. Use CreateRoute instead." % destination
            if action == "CreateRoute" and table["defaultRoute"] is not None:
                return 400, "RouteAlreadyExists", "The route identified by %s already exists." % destination
            table["defaultRoute"] = eni
            self.save()
            return None

    def describe(self, wanted):
        with self.lock:
            return {table_id: dict(table) for table_id, table in self.tables.items() if not wanted or table_id in wanted}


def success_xml(action, body=""):
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<%sResponse xmlns="%s"><requestId>%s</requestId>%s</%sResponse>'
        % (action, NAMESPACE, uuid.uuid4(), body, action)
    )


def error_xml(code, message):
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors>'
        "<RequestID>%s</RequestID></Response>" % (escape(code), escape(message), uuid.uuid4())
    )


def describe_xml(tables):
    items = []
    for table_id, table in tables.items():
        routes = ""
        if table["defaultRoute"] is not None:
            routes = (
                "<item><destinationCidrBlock>%s</destinationCidrBlock><networkInterfaceId>%s</networkInterfaceId>"
                "<origin>CreateRoute</origin><state>active</state></item>" % (DEFAULT_ROUTE, escape(table["defaultRoute"]))
            )
        items.append(
            "<item><routeTableId>%s</routeTableId><vpcId>vpc-0lab</vpcId><ownerId>111122223333</ownerId>"
            "<routeSet>%s</routeSet><associationSet/><propagatingVgwSet/><tagSet/></item>" % (escape(table_id), routes)
        )
    return success_xml("DescribeRouteTables", "<routeTableSet>%s</routeTableSet>" % "".join(items))


def build_handler(tables, refusals, record_path):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            self.handle_query(self.rfile.read(length).decode())

        def do_GET(self):
            self.handle_query(urlparse(self.path).query)

        def handle_query(self, query):
            params = {key: values[0] for key, values in parse_qs(query, keep_blank_values=True).items()}
            action = params.get("Action", "")
            refusal = refusals.next()
            if refusal is not None:
                status, message = REFUSALS[refusal]
                body = SERVICE_UNAVAILABLE_PAGE if message is None else error_xml(refusal, message)
                return self.answer(action, params, status, body, refusal)
            if action in ("ReplaceRoute", "CreateRoute"):
                failure = tables.write_route(action, params)
                if failure is None:
                    return self.answer(action, params, 200, success_xml(action, "<return>true</return>"))
                status, code, message = failure
                return self.answer(action, params, status, error_xml(code, message), code)
            if action == "DescribeRouteTables":
                wanted = {value for key, value in params.items() if key.startswith("RouteTableId.")}
                return self.answer(action, params, 200, describe_xml(tables.describe(wanted)))
            code = "InvalidAction"
            return self.answer(action, params, 400, error_xml(code, "the double does not implement '%s'" % action), code)

        def answer(self, action, params, status, body, error_code=None):
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html" if body == SERVICE_UNAVAILABLE_PAGE else "text/xml;charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            entry = {
                "action": action,
                "routeTableId": params.get("RouteTableId"),
                "destinationCidrBlock": params.get("DestinationCidrBlock"),
                "networkInterfaceId": params.get("NetworkInterfaceId"),
                "status": status,
                "error": error_code,
                "signed": "Authorization" in self.headers,
            }
            with open(record_path, "a", encoding="utf-8") as record:
                record.write(json.dumps(entry) + "\n")

        def log_message(self, *_args):
            pass  # the record file is the log

    return Handler


def main():
    args = parse_arguments(__doc__.splitlines()[0], default_port=0, extra=("--state",))
    tables = RouteTables(args.config, args.state)
    refusals = Refusals(args.config.get("refusals", []))
    return serve(args.address, args.port, build_handler(tables, refusals, args.record))


if __name__ == "__main__":
    sys.exit(main())
