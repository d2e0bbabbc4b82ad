"""A small LSP client for the tests: spawns a server and speaks JSON-RPC over its pipes.

Messages are framed as LSP frames them (``Content-Length`` headers); a
reader thread files responses by id and keeps notifications in order, so a
test can wait for "the next diagnostics of this document" with a timeout.
Requests the server sends (``client/registerCapability``) get an empty answer.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from pathlib import Path
from typing import Any


class LspClient:
    def __init__(self, command: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            command, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self._next_id = 0
        self._responses: dict[int, Any] = {}
        self._notifications: queue.Queue = queue.Queue()
        self._condition = threading.Condition()
        self.received: list[dict] = []  # every notification, in order
        self.stderr = b""
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    # -- framing -------------------------------------------------------------------------------

    def _send(self, message: dict) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def _read(self) -> None:
        stream = self.process.stdout
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            message = json.loads(stream.read(length))
            if "id" in message and "method" in message:  # a request from the server
                self._send({"id": message["id"], "result": None})
                self._notifications.put(message)
            elif "id" in message:
                with self._condition:
                    self._responses[message["id"]] = message
                    self._condition.notify_all()
            else:
                self._notifications.put(message)

    def _read_stderr(self) -> None:
        for line in self.process.stderr:
            self.stderr += line

    # -- requests and notifications ------------------------------------------------------------

    def request(self, method: str, params: Any, timeout: float = 60) -> Any:
        self._next_id += 1
        number = self._next_id
        self._send({"id": number, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        with self._condition:
            while number not in self._responses:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no answer to {method} in {timeout}s; server stderr: {self.stderr.decode()}")
                self._condition.wait(left)
            response = self._responses.pop(number)
        if "error" in response:
            raise RuntimeError(f"{method}: {response['error']}")
        return response["result"]

    def notify(self, method: str, params: Any) -> None:
        self._send({"method": method, "params": params})

    def wait_for(self, method: str, predicate=lambda params: True, timeout: float = 60) -> dict:
        """The params of the next notification ``method`` that satisfies ``predicate``."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                message = self._notifications.get(timeout=max(left, 0))
            except queue.Empty:
                raise TimeoutError(f"no {method} in {timeout}s; server stderr: {self.stderr.decode()}") from None
            self.received.append(message)
            if message.get("method") == method and predicate(message.get("params")):
                return message["params"]

    def diagnostics(self, uri: str, timeout: float = 60, predicate=lambda diagnostics: True) -> list[dict]:
        params = self.wait_for(
            "textDocument/publishDiagnostics",
            lambda p: p["uri"] == uri and predicate(p["diagnostics"]),
            timeout,
        )
        return params["diagnostics"]

    # -- the session's life --------------------------------------------------------------------

    def initialize(self, root: Path, options: dict | None = None, capabilities: dict | None = None) -> dict:
        result = self.request(
            "initialize",
            {
                "processId": None,
                "rootUri": root.as_uri(),
                "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
                "capabilities": capabilities or {},
                "initializationOptions": options or {},
            },
        )
        self.notify("initialized", {})
        return result

    def open(self, path: Path, text: str | None = None, version: int = 1) -> str:
        uri = path.as_uri()
        text = path.read_text() if text is None else text
        self.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "python", "version": version, "text": text}},
        )
        return uri

    def change(self, uri: str, text: str, version: int) -> None:
        self.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]},
        )

    def shutdown(self, timeout: float = 30) -> int:
        self.request("shutdown", None)
        self.notify("exit", None)
        try:
            return self.process.wait(timeout)
        finally:
            self.process.kill()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
