#!/usr/bin/env python3
"""Holds many concurrent TCP connections open, for the connection-scale benchmark.

  serve   --bind IP --port N [--max N]             accept and hold connections (SO_REUSEPORT:
                                                   run several to exceed one process's fd limit)
  connect --dst IP --port N --count N [--deadline S] [--batch N] [--source IP]
          open COUNT connections (paced in batches) from the source address (default: the
          routing's choice), wait until each is established or failed
          (or the deadline passes: then it counts as failed), print one JSON line, then hold
          them open until stdin closes.

Bounded: every wait has a deadline; everything closes when the process exits.
"""
import argparse
import errno
import json
import os
import resource
import select
import socket
import sys
import time

# Linux: bind() fixes the source address only; the port is chosen at connect() time, per destination.
IP_BIND_ADDRESS_NO_PORT = getattr(socket, 'IP_BIND_ADDRESS_NO_PORT', 24)


def raise_file_limit(needed):
    """Raises the soft descriptor limit to what is needed; fails clearly above the hard limit
    (the benchmark splits the work over several processes to stay below it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = needed + 64
    if hard != resource.RLIM_INFINITY and target > hard:
        sys.exit(f'{needed} sockets exceed the descriptor hard limit {hard}; use more processes')
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def serve(args):
    raise_file_limit(args.max)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Several server processes share the port; the kernel spreads connections over them.
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listener.bind((args.bind, args.port))
    listener.listen(65535)
    listener.setblocking(False)
    poller = select.epoll()
    poller.register(listener.fileno(), select.EPOLLIN)
    held = []
    print('ready', flush=True)
    while True:
        for _fd, _event in poller.poll(1.0):
            while True:
                try:
                    conn, _ = listener.accept()
                except (BlockingIOError, InterruptedError):
                    break
                except OSError as error:
                    if error.errno in (errno.EMFILE, errno.ENFILE):
                        print(f'descriptor limit reached at {len(held)}', file=sys.stderr, flush=True)
                        time.sleep(0.1)
                        break
                    raise
                held.append(conn)


def connect(args):
    raise_file_limit(args.count)
    poller = select.epoll()
    pending = {}
    established = failed = 0
    errors = {}
    opened = 0
    deadline = time.monotonic() + args.deadline
    started = time.monotonic()
    keep = []

    def settle(timeout):
        nonlocal established, failed
        for fd, _event in poller.poll(timeout):
            sock = pending.pop(fd)
            poller.unregister(fd)
            code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code == 0:
                established += 1
                keep.append(sock)
            else:
                failed += 1
                name = errno.errorcode.get(code, str(code))
                errors[name] = errors.get(name, 0) + 1
                sock.close()

    while opened < args.count and time.monotonic() < deadline:
        for _ in range(min(args.batch, args.count - opened)):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            if args.source:
                sock.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
                sock.bind((args.source, 0))
            sock.setblocking(False)
            code = sock.connect_ex((args.dst, args.port))
            opened += 1
            if code not in (0, errno.EINPROGRESS):
                failed += 1
                name = errno.errorcode.get(code, str(code))
                errors[name] = errors.get(name, 0) + 1
                sock.close()
                continue
            pending[sock.fileno()] = sock
            poller.register(sock.fileno(), select.EPOLLOUT)
        settle(0.01)
    while pending and time.monotonic() < deadline:
        settle(0.2)
    timed_out = len(pending)
    for sock in pending.values():
        sock.close()
    result = {
        'requested': args.count,
        'opened': opened,
        'established': established,
        'failed': failed + timed_out + (args.count - opened),
        'timedOut': timed_out,
        'errors': errors,
        'seconds': round(time.monotonic() - started, 2),
    }
    print(json.dumps(result), flush=True)
    sys.stdin.read()  # hold until the benchmark closes our stdin
    for sock in keep:
        sock.close()


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest='mode', required=True)
    s = sub.add_parser('serve')
    s.add_argument('--bind', required=True)
    s.add_argument('--port', type=int, required=True)
    s.add_argument('--max', type=int, default=100000)
    c = sub.add_parser('connect')
    c.add_argument('--dst', required=True)
    c.add_argument('--port', type=int, required=True)
    c.add_argument('--count', type=int, required=True)
    c.add_argument('--deadline', type=float, default=60.0)
    c.add_argument('--batch', type=int, default=200)
    c.add_argument('--source', default=None)
    args = parser.parse_args()
    serve(args) if args.mode == 'serve' else connect(args)


if __name__ == '__main__':
    main()
