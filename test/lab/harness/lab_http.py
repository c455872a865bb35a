"""The HTTP server class of the lab's servers (what-is-my-IP, the AWS doubles): one that looks no name up.

http.server.HTTPServer.server_bind calls socket.getfqdn(host) for server_name: a DNS lookup
that, on a machine whose resolver the lab's namespaces cannot reach, hangs for seconds before
the server listens. The lab needs no names, so server_name is the bind address.
"""
import http.server
import socketserver


class ThreadingHTTPServer(http.server.ThreadingHTTPServer):
    """http.server.ThreadingHTTPServer (one daemon thread per request) without the name lookup at bind."""

    def server_bind(self):
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]
