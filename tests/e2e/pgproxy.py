"""A TCP relay between a store and the real PostgreSQL server, to cut the network the way a failing switch
or a restarted server would: close every connection, refuse new ones for a while, or lose the answer to a
COMMIT that the server did carry out."""

from __future__ import annotations

import contextlib
import socket
import threading


class Proxy:
    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepting = True
        self.lose_next_commit_answer = False
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, base: str) -> str:
        """`base` (a URL of the real server) pointed at this relay."""
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(base)
        netloc = parts.netloc.rsplit("@", 1)
        host = f"127.0.0.1:{self.port}"
        return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.accepting:
                client.close()
                continue
            server = socket.create_connection(self.target)
            with self.lock:
                self.pairs.append((client, server))
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, from_client: bool) -> None:
        with contextlib.suppress(OSError):
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
                if from_client and self.lose_next_commit_answer and b"COMMIT\x00" in data:
                    self.lose_next_commit_answer = False
                    src.close()  # the server has the COMMIT; its answer never reaches the client
                    break
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.close()

    def cut(self, refuse: bool = True) -> None:
        """Close every relayed connection; with `refuse`, new ones are refused until `restore`."""
        self.accepting = not refuse
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for pair in pairs:
            for s in pair:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()

    def restore(self) -> None:
        self.accepting = True

    def close(self) -> None:
        self.cut()
        self.listener.close()
