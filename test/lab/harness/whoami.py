#!/usr/bin/env python3
"""What-is-my-IP for the lab: answers every caller with the IPv4 address it sees.

serve --bind IP [--http PORT] [--udp PORT]   HTTP GET returns "<caller ip>\n"; a UDP datagram is answered
                                             with "<caller ip>\n". Prints "ready" once both listen
                                             (no name is looked up: see lab_http.py).
ask udp HOST PORT [--source IP] [--timeout S] sends one datagram, prints the answer; exit 2 on no answer.
ping HOST [--timeout S]                       one ICMP echo request (raw socket, root); exit 2 on no reply.
"""
import argparse
import http.server
import os
import socket
import struct
import sys
import threading
import time

import lab_http


class WhoAmIHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server naming)
        body = (self.client_address[0] + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class WhoAmIServer(lab_http.ThreadingHTTPServer):
    request_queue_size = 1024


def serve_udp(sock):
    while True:
        _, peer = sock.recvfrom(2048)
        sock.sendto((peer[0] + "\n").encode(), peer)


def serve(args):
    threads = []
    if args.http:
        server = WhoAmIServer((args.bind, args.http), WhoAmIHandler)
        threads.append(threading.Thread(target=server.serve_forever, daemon=True))
    if args.udp:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((args.bind, args.udp))
        threads.append(threading.Thread(target=serve_udp, args=(sock,), daemon=True))
    for thread in threads:
        thread.start()
    print("ready", flush=True)
    threading.Event().wait()


def ask(args):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if args.source:
        sock.bind((args.source, 0))
    sock.settimeout(args.timeout)
    sock.sendto(b"who am i\n", (args.host, args.port))
    try:
        data, _ = sock.recvfrom(2048)
    except (socket.timeout, ConnectionRefusedError) as error:
        print(f"no answer: {error.__class__.__name__}", file=sys.stderr)
        sys.exit(2)
    sys.stdout.write(data.decode())


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def ping(args):
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    sock.settimeout(args.timeout)
    ident = os.getpid() & 0xFFFF
    header = struct.pack("!BBHHH", 8, 0, 0, ident, 1)
    payload = b"nat-lab"
    packet = struct.pack("!BBHHH", 8, 0, checksum(header + payload), ident, 1) + payload
    sock.sendto(packet, (args.host, 0))
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        try:
            data, peer = sock.recvfrom(2048)
        except socket.timeout:
            break
        icmp = data[(data[0] & 0x0F) * 4:]
        kind, _, _, reply_ident, _ = struct.unpack("!BBHHH", icmp[:8])
        if kind == 0 and reply_ident == ident and peer[0] == args.host:
            print(f"reply from {peer[0]}")
            return
    print("no answer: no ICMP echo reply", file=sys.stderr)
    sys.exit(2)


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--bind", default="0.0.0.0")
    s.add_argument("--http", type=int)
    s.add_argument("--udp", type=int)
    a = sub.add_parser("ask")
    a.add_argument("protocol", choices=["udp"])
    a.add_argument("host")
    a.add_argument("port", type=int)
    a.add_argument("--source")
    a.add_argument("--timeout", type=float, default=3.0)
    p = sub.add_parser("ping")
    p.add_argument("host")
    p.add_argument("--timeout", type=float, default=3.0)
    args = parser.parse_args()
    {"serve": serve, "ask": ask, "ping": ping}[args.command](args)


if __name__ == "__main__":
    main()
