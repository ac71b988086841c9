"""A TCP relay between a store and the real PostgreSQL server, to cut the network the way a failing switch
or a restarted server would: close every connection, refuse new ones for a while, or lose the answer to a
commit that the server did carry out: a COMMIT, or a statement run outside a transaction (its own)."""

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
        self.statements = 0  # statements the clients had carried out (Execute and simple Query messages)
        self.rows = 0  # rows the server answered (DataRow messages)
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
            idle = [True]  # the server's last ReadyForQuery said: no transaction open
            threading.Thread(target=self._pump, args=(client, server, True, idle), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False, idle), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, from_client: bool, idle: list[bool]) -> None:
        with contextlib.suppress(OSError):
            while True:
                data = src.recv(65536)
                if not data:
                    break
                messages = list(_messages(data))
                if not from_client:
                    idle[0] = next((body == b"I" for kind, body in reversed(messages) if kind == b"Z"), idle[0])
                dst.sendall(data)
                if from_client:
                    self.statements += sum(kind in (b"E", b"Q") for kind, _ in messages)
                else:
                    self.rows += sum(kind == b"D" for kind, _ in messages)
                if from_client and self.lose_next_commit_answer and _commits(messages, idle[0]):
                    self.lose_next_commit_answer = False
                    src.close()  # the server has the commit; its answer never reaches the client
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


def _messages(data: bytes) -> list[tuple[bytes, bytes]]:
    """The protocol messages in `data` (type byte, body); the relay's reads start at a message's start."""
    out, i = [], 0
    while i + 5 <= len(data):
        length = int.from_bytes(data[i + 1:i + 5], "big")
        if length < 4 or data[i:i + 1] == b"\x00":  # the start-up packet has no type byte
            break
        out.append((data[i:i + 1], data[i + 5:i + 1 + length]))
        i += 1 + length
    return out


def _commits(messages: list[tuple[bytes, bytes]], idle: bool) -> bool:
    """Whether these client messages end a transaction: a COMMIT, or an Execute outside a transaction."""
    return any((kind == b"Q" and b"COMMIT" in body) or (kind == b"E" and idle) for kind, body in messages)
