#!/usr/bin/env python3
"""Tests of fault-proxy.py, standard library only, all traffic on 127.0.0.1.

Each test starts the proxy in a subprocess in front of an in-process echo server (ephemeral
ports everywhere) and checks one mode through real sockets and GET /status.

    python3 deploy/tools/test_fault_proxy.py [-v] [TestName]

FAULT_PROXY_VERBOSE=1 prints each proxy's log (its stderr) when it stops.
FAULT_PROXY_PYTHON=/usr/bin/python3 runs the proxies with that interpreter (default: this one;
the test that launches it like Tests/Support/FaultProxy.swift uses /usr/bin/python3, as that does).
"""
import http.client
import json
import os
import select
import shlex
import signal
import socket
import socketserver
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PROXY = os.path.join(HERE, "fault-proxy.py")
PYTHON = os.environ.get("FAULT_PROXY_PYTHON", sys.executable)
SWIFT_PYTHON = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else PYTHON
HOST = "127.0.0.1"
TIMEOUT = 5.0  # upper bound for anything that should happen "now"
QUIET = 0.4  # how long a silent socket must stay silent


# --- an echo server that remembers what it received per connection ---------------------------

class EchoRecord:
    def __init__(self):
        self.received = 0
        self.done = threading.Event()


class EchoHandler(socketserver.BaseRequestHandler):
    def handle(self):
        record = EchoRecord()
        with self.server.lock:
            self.server.records.append(record)
        try:
            while True:
                data = self.request.recv(65536)
                if not data:
                    break  # EOF: socketserver then shuts down our side (FIN) and closes
                record.received += len(data)
                self.request.sendall(data)
        except OSError:
            pass  # reset by the proxy: what the cut tests want
        finally:
            record.done.set()


class EchoServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self):
        super().__init__((HOST, 0), EchoHandler)
        self.lock = threading.Lock()
        self.records = []
        self.port = self.server_address[1]
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def count(self):
        """How many connections so far: the index the next one's record will have."""
        with self.lock:
            return len(self.records)

    def record(self, index, timeout=TIMEOUT):
        """The record of connection number `index` (from count()), once it has arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.records) > index:
                    return self.records[index]
            time.sleep(0.01)
        raise AssertionError(f"the echo server never saw connection {index}")

    def received(self):
        with self.lock:
            return sum(record.received for record in self.records)


# --- the proxy under test ----------------------------------------------------------------------

class ProxyProcess:
    """The proxy in a subprocess. shell=True starts it the way Tests/Support/FaultProxy.swift
    does, /bin/sh -c "exec /usr/bin/python3 fault-proxy.py ... > PORTS-FILE", and reads its
    ready line from that file; otherwise its stdout is a pipe."""

    def __init__(self, *args, shell=False):
        self.log = tempfile.TemporaryFile(mode="w+")
        self.ports_file = None
        if shell:
            handle, self.ports_file = tempfile.mkstemp(prefix="fault-proxy-", suffix=".ports")
            os.close(handle)
            command = " ".join(shlex.quote(word) for word in (SWIFT_PYTHON, PROXY, *args))
            self.process = subprocess.Popen(
                ["/bin/sh", "-c", f"exec {command} > {shlex.quote(self.ports_file)}"],
                stdin=subprocess.DEVNULL, stderr=self.log)
            line = self.read_ports_file()
        else:
            self.process = subprocess.Popen([PYTHON, PROXY, *args],
                                            stdout=subprocess.PIPE, stderr=self.log)
            ready, _, _ = select.select([self.process.stdout], [], [], TIMEOUT)
            if not ready:
                self.process.kill()
                raise AssertionError(f"the proxy did not start: {self.log_text()}")
            line = self.process.stdout.readline()
        if not line:
            raise AssertionError(f"the proxy exited at start: {self.log_text()}")
        self.ports = json.loads(line)
        self.control = self.ports["control"]
        self.listen = [route["listen"] for route in self.ports["routes"]]

    def read_ports_file(self):
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            with open(self.ports_file, "rb") as file:
                line = file.readline()
            if line.endswith(b"\n"):
                return line
            if self.process.poll() is not None:
                return b""
            time.sleep(0.02)
        self.process.kill()
        raise AssertionError(f"the proxy did not start: {self.log_text()}")

    def log_text(self):
        self.log.seek(0)
        return self.log.read()

    def request(self, method, path, body=None):
        conn = http.client.HTTPConnection(HOST, self.control, timeout=TIMEOUT)
        try:
            conn.request(method, path, body=body,
                         headers={"Content-Type": "application/json"} if body else {})
            response = conn.getresponse()
            return response.status, json.loads(response.read())
        finally:
            conn.close()

    def mode(self, **spec):
        status, payload = self.request("POST", "/mode", json.dumps(spec))
        assert status == 200, (status, payload)
        return payload

    def status(self):
        status, payload = self.request("GET", "/status")
        assert status == 200, (status, payload)
        return payload

    def stop(self, signum=signal.SIGTERM):
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return None
        finally:
            if self.process.stdout is not None:
                self.process.stdout.close()
            if self.ports_file is not None:
                os.unlink(self.ports_file)
            if os.environ.get("FAULT_PROXY_VERBOSE"):
                sys.stderr.write(self.log_text())


# --- socket helpers ----------------------------------------------------------------------------

def wait_until(predicate, timeout=TIMEOUT, message="condition not met in time"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.01)


def recv_exactly(sock, size, timeout=TIMEOUT):
    sock.settimeout(timeout)
    chunks, got = [], 0
    while got < size:
        data = sock.recv(min(65536, size - got))
        if not data:
            raise AssertionError(f"connection closed after {got} of {size} bytes")
        chunks.append(data)
        got += len(data)
    return b"".join(chunks)


def recv_until_closed(sock, timeout=TIMEOUT):
    """Everything the socket still delivers, and how it ended: "eof" or "reset"."""
    sock.settimeout(timeout)
    chunks = []
    while True:
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            return b"".join(chunks), "reset"
        if not data:
            return b"".join(chunks), "eof"
        chunks.append(data)


def pattern(size, seed=0):
    """size bytes whose order matters: a counter, so a reordering or a loss shows."""
    words = (size + 3) // 4
    return struct.pack(f">{words}I", *range(seed, seed + words))[:size]


class FaultProxyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.echo = EchoServer()

    @classmethod
    def tearDownClass(cls):
        cls.echo.shutdown()
        cls.echo.server_close()

    def setUp(self):
        self.proxy = self.start_proxy("--listen", "0", "--upstream", f"{HOST}:{self.echo.port}")
        self.sockets = []

    def start_proxy(self, *args, shell=False):
        proxy = ProxyProcess(*args, "--control", "0", shell=shell)
        self.addCleanup(proxy.log.close)  # cleanups run last-in first-out: after the stop
        self.addCleanup(self.stop_proxy, proxy)
        return proxy

    def stop_proxy(self, proxy, signum=signal.SIGTERM):
        code = proxy.stop(signum)
        self.assertEqual(code, 0, f"the proxy did not exit cleanly:\n{proxy.log_text()}")

    def tearDown(self):
        for sock in self.sockets:
            sock.close()

    def connect(self, port=None):
        sock = socket.create_connection((HOST, port or self.proxy.listen[0]), timeout=TIMEOUT)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sockets.append(sock)
        return sock

    def assert_reset_at_once(self, port=None):
        """A connection the proxy accepts and resets: the client sees that in connect() already,
        or at its first read."""
        try:
            sock = self.connect(port)
        except ConnectionResetError:
            return
        self.assertEqual(recv_until_closed(sock)[0], b"")

    def assert_echoes(self, sock, data=b"ping"):
        sock.sendall(data)
        self.assertEqual(recv_exactly(sock, len(data)), data)

    def assert_silent(self, sock, seconds=QUIET):
        """Nothing arrives, and the connection stays open."""
        sock.settimeout(seconds)
        with self.assertRaises(socket.timeout, msg="expected silence on an open connection"):
            data = sock.recv(65536)
            self.fail(f"got {data[:40]!r} ({'EOF' if not data else len(data)})")

    def wait_live(self, count):
        wait_until(lambda: self.proxy.status()["live"] == count,
                   message=f"live connections never reached {count}")

    # --- pass ----------------------------------------------------------------------------------

    def test_pass_echoes_and_counts(self):
        sock = self.connect()
        data = pattern(100_000)
        sock.sendall(data)
        self.assertEqual(recv_exactly(sock, len(data)), data)
        status = self.proxy.status()
        self.assertEqual(status["mode"], "pass")
        self.assertEqual((status["live"], status["accepted"], status["cut"]), (1, 1, 0))
        self.assertEqual(status["bytes"], {"upstream": 100_000, "downstream": 100_000})
        sock.close()
        self.wait_live(0)

    # --- cut -----------------------------------------------------------------------------------

    def test_cut_resets_live_connections_then_passes(self):
        first, second = self.connect(), self.connect()
        self.assert_echoes(first)
        self.assert_echoes(second)
        status = self.proxy.mode(mode="cut")
        self.assertEqual((status["mode"], status["live"], status["cut"]), ("pass", 0, 2))
        for sock in (first, second):
            data, how = recv_until_closed(sock)
            self.assertEqual((data, how), (b"", "reset"))
        self.assert_echoes(self.connect(), b"after the cut")
        self.assertIn("reset 2 live connection(s)", self.proxy.log_text())

    def test_cut_refuse_resets_new_connections_until_the_next_mode(self):
        status = self.proxy.mode(mode="cut", refuse=True)
        self.assertEqual((status["mode"], status["options"]), ("cut", {"refuse": True}))
        for _ in range(2):
            self.assert_reset_at_once()
        wait_until(lambda: self.proxy.status()["refused"] == 2)
        self.proxy.mode(mode="pass")
        self.assert_echoes(self.connect())
        status = self.proxy.status()
        self.assertEqual((status["accepted"], status["refused"], status["live"]), (3, 2, 1))

    # --- cut-after -----------------------------------------------------------------------------

    def test_cut_after_upstream_forwards_exactly_n_bytes(self):
        status = self.proxy.mode(**{"mode": "cut-after", "bytes": 1000, "direction": "upstream"})
        self.assertEqual(status["options"], {"bytes": 1000, "direction": "upstream"})
        upstream = self.echo.count()
        sock = self.connect()
        sock.sendall(pattern(5000))
        _, how = recv_until_closed(sock)
        self.assertEqual(how, "reset")
        record = self.echo.record(upstream)
        self.assertTrue(record.done.wait(TIMEOUT))
        self.assertEqual(record.received, 1000)  # the upstream saw exactly N bytes
        status = self.proxy.status()
        self.assertEqual(status["bytes"]["upstream"], 1000)
        self.assertEqual((status["cut"], status["live"]), (1, 0))
        self.assertEqual(status["mode"], "pass")  # the first cut sends new connections to pass
        data = pattern(5000, seed=7)
        self.assert_echoes(self.connect(), data)  # a reconnection is not cut

    def test_cut_after_downstream_arms_live_connections(self):
        sock = self.connect()
        self.assert_echoes(sock, b"x" * 100)
        self.proxy.mode(**{"mode": "cut-after", "bytes": 500, "direction": "downstream"})
        self.assertEqual(self.proxy.status()["armed"], 1)
        data = pattern(4000)
        sock.sendall(data)
        got, how = recv_until_closed(sock)
        self.assertEqual((got, how), (data[:500], "reset"))  # exactly N more bytes, then reset
        status = self.proxy.status()
        self.assertEqual(status["bytes"]["downstream"], 100 + 500)
        self.assertEqual((status["cut"], status["armed"], status["mode"]), (1, 0, "pass"))

    # --- stall ---------------------------------------------------------------------------------

    def test_stall_both_holds_everything_then_delivers_it_in_order(self):
        sock = self.connect()
        self.assert_echoes(sock)
        before = self.echo.received()
        self.proxy.mode(mode="stall", direction="both")
        # A small send buffer (no autotuning) makes "the kernel buffers fill" quick to see.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
        data = pattern(4 * 1024 * 1024)
        sent = threading.Event()
        sender = threading.Thread(target=lambda: (sock.sendall(data), sent.set()), daemon=True)
        sender.start()
        self.assert_silent(sock)
        self.assertFalse(sent.is_set(), "the sender never blocked: the proxy kept reading")
        self.assertEqual(self.echo.received(), before)  # nothing reached the upstream
        self.assertEqual(self.proxy.status()["live"], 1)
        self.proxy.mode(mode="pass")
        self.assertEqual(recv_exactly(sock, len(data)), data)
        self.assertTrue(sent.wait(TIMEOUT))
        sender.join(TIMEOUT)

    def test_stall_downstream_holds_the_replies_only(self):
        upstream = self.echo.count()
        sock = self.connect()
        self.proxy.mode(mode="stall", direction="downstream")
        data = pattern(10_000)
        sock.sendall(data)
        wait_until(lambda: self.echo.record(upstream).received == len(data),
                   message="the request did not reach the upstream")
        self.assert_silent(sock)
        self.proxy.mode(mode="pass")
        self.assertEqual(recv_exactly(sock, len(data)), data)

    # --- latency -------------------------------------------------------------------------------

    def test_latency_delays_both_directions_in_order(self):
        sock = self.connect()
        started = time.monotonic()
        self.assert_echoes(sock)
        baseline = time.monotonic() - started
        self.proxy.mode(mode="latency", ms=150)
        started = time.monotonic()
        self.assert_echoes(sock)
        round_trip = time.monotonic() - started
        self.assertGreaterEqual(round_trip, 0.300)  # 150 ms each way
        self.assertGreaterEqual(round_trip - baseline, 0.150)
        # Chunks sent 20 ms apart come back 300 ms later, in order (not 150 ms apiece).
        chunks = [pattern(3000, seed=1000 * i) for i in range(10)]
        started = time.monotonic()
        for chunk in chunks:
            sock.sendall(chunk)
            time.sleep(0.02)
        self.assertEqual(recv_exactly(sock, sum(map(len, chunks))), b"".join(chunks))
        self.assertLess(time.monotonic() - started, 1.5)
        self.proxy.mode(mode="pass")
        started = time.monotonic()
        self.assert_echoes(sock)
        self.assertLess(time.monotonic() - started, 0.150)

    # --- drop ----------------------------------------------------------------------------------

    def test_drop_upstream_is_a_silent_peer(self):
        upstream = self.echo.count()
        sock = self.connect()
        self.assert_echoes(sock)
        self.proxy.mode(mode="drop", direction="upstream")
        sock.sendall(b"lost in the void")
        self.assert_silent(sock)  # no echo, yet the connection is open
        self.assertEqual(self.echo.record(upstream).received, 4)  # only the first "ping"
        status = self.proxy.status()
        self.assertEqual((status["dropped"]["upstream"], status["live"]), (16, 1))
        self.proxy.mode(mode="pass")
        self.assert_echoes(sock, b"back")  # what was dropped stays dropped

    def test_drop_downstream_swallows_the_replies(self):
        upstream = self.echo.count()
        sock = self.connect()
        self.proxy.mode(mode="drop", direction="downstream")
        sock.sendall(b"hello")
        wait_until(lambda: self.echo.record(upstream).received == 5)
        self.assert_silent(sock)
        wait_until(lambda: self.proxy.status()["dropped"]["downstream"] == 5)

    # --- peers that go away --------------------------------------------------------------------

    def test_half_close_is_passed_on_and_closes_the_pair(self):
        sock = self.connect()
        sock.sendall(b"last words")
        sock.shutdown(socket.SHUT_WR)
        self.assertEqual(recv_until_closed(sock), (b"last words", "eof"))
        self.wait_live(0)

    def test_client_reset_closes_the_pair(self):
        upstream = self.echo.count()
        sock = self.connect()
        self.assert_echoes(sock)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
        self.wait_live(0)
        self.assertTrue(self.echo.record(upstream).done.wait(TIMEOUT))
        self.assert_echoes(self.connect())

    def test_upstream_reset_resets_the_client(self):
        with socket.socket() as server:  # an upstream that resets as soon as it hears from us
            server.bind((HOST, 0))
            server.listen()

            def reset_one():
                conn, _ = server.accept()
                conn.recv(100)
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()

            threading.Thread(target=reset_one, daemon=True).start()
            proxy = self.start_proxy("--route", f"0:{server.getsockname()[1]}")
            sock = self.connect(proxy.listen[0])
            sock.sendall(b"hello?")
            self.assertEqual(recv_until_closed(sock), (b"", "reset"))
            wait_until(lambda: proxy.status()["live"] == 0)

    def test_unreachable_upstream_resets_the_client(self):
        with socket.socket() as probe:  # a port with nobody listening
            probe.bind((HOST, 0))
            dead = probe.getsockname()[1]
        proxy = self.start_proxy("--route", f"0:{dead}")
        self.assert_reset_at_once(proxy.listen[0])
        wait_until(lambda: proxy.status()["failed"] == 1)
        self.assertEqual(proxy.status()["live"], 0)

    # --- protocols where the client's first bytes race the upstream connect --------------------

    def test_greeting_protocol_through_sh_exec_launch(self):
        """An AMQP-like exchange, the proxy started the way FaultProxy.swift starts it.

        The client sends a protocol header the moment it is connected, so the header reaches
        the proxy before the proxy's own connection to the upstream is made; the upstream greets
        only once it has the header (as RabbitMQ answers with connection.start), the client
        answers the greeting and the upstream replies. Under /usr/bin/python3 (3.11.2, whose
        asyncio ignores a pause_reading() made in connection_made(): CPython gh-103607) the
        proxy reads that header while still connecting, and must forward it once the upstream
        is there rather than when some later event (the client's EOF) happens to pump it."""
        header, greeting = b"AMQP\x00\x00\x09\x01", pattern(506, seed=5)
        answer, reply = pattern(300, seed=9), pattern(40, seed=13)
        failures = []
        with socket.socket() as server:
            server.bind((HOST, 0))
            server.listen(32)

            def serve():
                while True:
                    try:
                        conn, _ = server.accept()
                    except OSError:
                        return  # the listening socket was closed: the test is over
                    with conn:
                        try:
                            got = recv_exactly(conn, len(header))
                            if got != header:
                                failures.append(f"upstream got header {got!r}")
                                continue
                            conn.sendall(greeting)
                            got = recv_exactly(conn, len(answer))
                            if got != answer:
                                failures.append("upstream got a wrong answer")
                                continue
                            conn.sendall(reply)
                            recv_until_closed(conn)
                        except (AssertionError, OSError) as error:
                            failures.append(f"upstream: {error}")

            threading.Thread(target=serve, daemon=True).start()
            proxy = self.start_proxy("--route", f"0:{server.getsockname()[1]}", shell=True)
            rounds = 10
            for index in range(rounds):
                # Even rounds freeze the proxy while the client connects and sends its header,
                # so the header is surely there first (as with a fast client: SwiftNIO's
                # always is); odd rounds leave the race to chance.
                frozen = index % 2 == 0
                if frozen:
                    proxy.process.send_signal(signal.SIGSTOP)
                try:
                    sock = socket.create_connection((HOST, proxy.listen[0]), timeout=TIMEOUT)
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    sock.sendall(header)  # the kernel completes the handshake and queues it
                finally:
                    if frozen:
                        proxy.process.send_signal(signal.SIGCONT)
                with sock:
                    self.assertEqual(recv_exactly(sock, len(greeting), timeout=2.0), greeting,
                                     f"round {index}: no greeting; upstream: {failures}")
                    sock.sendall(answer)
                    self.assertEqual(recv_exactly(sock, len(reply), timeout=2.0), reply,
                                     f"round {index}: no reply; upstream: {failures}")
                    sock.shutdown(socket.SHUT_WR)
                    self.assertEqual(recv_until_closed(sock), (b"", "eof"))
            wait_until(lambda: proxy.status()["live"] == 0)
            self.assertEqual(failures, [])
            status = proxy.status()
            self.assertEqual(status["accepted"], rounds)
            self.assertEqual(status["bytes"], {"upstream": rounds * (len(header) + len(answer)),
                                               "downstream": rounds * (len(greeting) + len(reply))})

    # --- routes, control API, process ----------------------------------------------------------

    def test_several_routes(self):
        proxy = self.start_proxy("--route", f"0:{self.echo.port}", "--route", f"0:{self.echo.port}")
        self.assertEqual(len(proxy.listen), 2)
        for port in proxy.listen:
            self.assert_echoes(self.connect(port))
        routes = proxy.status()["routes"]
        self.assertEqual([(r["upstream"], r["accepted"]) for r in routes],
                         [(self.echo.port, 1), (self.echo.port, 1)])

    def test_control_rejects_bad_requests(self):
        for body in ("not json", "[]", '{"mode":"explode"}', '{"mode":"pass","bytes":1}',
                     '{"mode":"cut-after","bytes":-1}', '{"mode":"cut-after","bytes":true}',
                     '{"mode":"stall","direction":"sideways"}', '{"mode":"latency"}',
                     '{"mode":"cut","refuse":"yes"}'):
            status, payload = self.proxy.request("POST", "/mode", body)
            self.assertEqual(status, 400, body)
            self.assertIn("error", payload)
        self.assertEqual(self.proxy.request("GET", "/nowhere")[0], 404)
        self.assertEqual(self.proxy.request("GET", "/mode")[0], 405)
        self.assertEqual(self.proxy.status()["mode"], "pass")  # nothing changed

    def test_stops_on_sigint(self):
        sock = self.connect()
        self.assert_echoes(sock)
        proxy = self.proxy
        self.assertEqual(proxy.stop(signal.SIGINT), 0)
        self.assertEqual(recv_until_closed(sock)[0], b"")

    def test_refuses_a_non_loopback_upstream(self):
        result = subprocess.run([sys.executable, PROXY, "--listen", "0", "--upstream",
                                 "10.1.2.3:5432", "--control", "0"],
                                capture_output=True, text=True, timeout=TIMEOUT)
        self.assertEqual(result.returncode, 2)
        self.assertIn("must be on 127.0.0.1", result.stderr)


if __name__ == "__main__":
    unittest.main()
