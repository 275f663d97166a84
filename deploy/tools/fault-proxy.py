#!/usr/bin/env python3
"""A TCP fault-injection proxy for tests: put it between a service and RabbitMQ or PostgreSQL
and break the link on demand.

It listens and connects on 127.0.0.1 only. Each route is a listening port whose connections are
forwarded to an upstream port; a test points the service at the listening port and drives the
faults over a small HTTP control interface. Python 3.11 standard library only (asyncio).

    fault-proxy.py --listen 15672 --upstream 127.0.0.1:5672 --control 18099
    fault-proxy.py --route 15672:5672 --route 15432:5432 --control 18099

A port of 0 lets the kernel choose; once everything is bound the proxy prints one JSON line on
stdout with the ports in use, {"control": 18099, "routes": [{"listen": 15672, "upstream": 5672}]}.
It logs one line per mode change and one per connection (when it ends) to stderr, and exits on
SIGTERM or SIGINT.

Directions: "upstream" is service -> server (client to upstream), "downstream" is the replies.

Modes (POST /mode, a JSON object). A mode applies to live connections and new ones until the
next POST /mode replaces it; "direction" may be left out and takes the default shown.
  {"mode": "pass"}
      Forward both ways. The initial mode.
  {"mode": "cut", "refuse": false}
      Close every live connection now with a TCP RST (SO_LINGER 0), then go back to pass for
      new connections. With "refuse": true the mode stays "cut" and every new connection is
      accepted and reset at once, until the next mode change (a client may see that reset in
      connect() already, or at its first read).
  {"mode": "cut-after", "bytes": N, "direction": "upstream"}
      Keep forwarding, but arm every live connection, and each new one accepted while the mode
      lasts, to forward exactly N more bytes in that direction and then be reset: the cut lands
      mid-frame. Each connection is cut at most once. When the first cut fires the mode falls
      back to pass, so a reconnecting service gets a healthy link (connections that are still
      armed stay armed until a mode is posted). With "bytes": 0 the cut fires as soon as the
      next data arrives in that direction, forwarding none of it.
  {"mode": "stall", "direction": "both"}        ("upstream", "downstream" or "both")
      Stop forwarding and stop reading in that direction; the sockets stay open and the kernel
      buffers fill, so the sender eventually blocks. The next mode change resumes forwarding
      with nothing lost and in order.
  {"mode": "latency", "ms": N}
      Hold every chunk N milliseconds (both directions) before passing it on, in order.
  {"mode": "drop", "direction": "upstream"}     ("upstream" or "downstream")
      Read and discard the bytes going that way (a silent peer); forward the other way.
"bytes" counted by cut-after are bytes forwarded; bytes discarded by drop never count.

Control API (HTTP/1.1 on 127.0.0.1:CONTROL, one request per connection, JSON answers):
  POST /mode     body as above; 200 with the status after the change, 400 when the body is bad
                 (unknown mode or field, wrong type). A cut answers once the sockets are closed.
  GET  /status   200 with
                 {"mode": "pass", "options": {},          # its fields, defaults filled in
                  "live": 1,                              # connections open now
                  "accepted": 3,                          # connections accepted, ever
                  "cut": 1,                               # closed by cut or cut-after
                  "refused": 0,                           # reset at accept (cut + refuse)
                  "failed": 0,                            # upstream could not be reached
                  "armed": 0,                             # live, waiting for a cut-after
                  "bytes": {"upstream": 120, "downstream": 4410},    # forwarded
                  "dropped": {"upstream": 0, "downstream": 0},       # discarded by drop
                  "routes": [{"listen": 15672, "upstream": 5672, "live": 1, "accepted": 3}]}

    curl -s -XPOST 127.0.0.1:18099/mode -d '{"mode":"cut-after","bytes":7,"direction":"upstream"}'
    curl -s 127.0.0.1:18099/status

Connection errors never stop the proxy. A peer's EOF (half-close) is passed on to the other
peer and the pair is closed once both directions have ended; a peer's reset (or any socket
error) resets the other peer as well. An upstream that cannot be reached resets the client.
"""
import argparse
import asyncio
import collections
import json
import math
import signal
import socket
import struct
import sys
import time

try:  # Linux and macOS: lets a cut-after wait until its last bytes have left the socket.
    import fcntl
    import termios
except ImportError:  # pragma: no cover
    fcntl = termios = None

HOST = "127.0.0.1"  # the only address the proxy ever binds or connects to
UP, DOWN = "upstream", "downstream"
DIRECTIONS = (UP, DOWN)
HIGH_WATER = 256 * 1024  # bytes held per direction (latency, slow peer) before reading pauses
CONNECT_TIMEOUT = 5.0  # seconds to reach the upstream
DRAIN_TIMEOUT = 2.0  # seconds a cut waits for its sockets to flush or close
MAX_REQUEST = 64 * 1024  # control requests: head and body limits
REQUEST_TIMEOUT = 10.0


def log(message):
    now = time.time()
    stamp = time.strftime("%H:%M:%S", time.localtime(now)) + f".{int(now % 1 * 1000):03d}"
    print(f"{stamp} fault-proxy: {message}", file=sys.stderr, flush=True)


def reset(transport):
    """Close a transport with a TCP RST (SO_LINGER on, timeout 0) rather than a FIN."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass  # already closed: abort() below is all that is left to do
    transport.abort()


def unsent_bytes(transport):
    """Bytes not yet sent by asyncio or not yet acknowledged by the peer's kernel."""
    pending = transport.get_write_buffer_size()
    sock = transport.get_extra_info("socket")
    if termios is None or sock is None or not hasattr(termios, "TIOCOUTQ"):
        return pending
    try:  # TIOCOUTQ on a TCP socket is SIOCOUTQ: the kernel's send queue
        raw = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, struct.pack("i", 0))
        return pending + struct.unpack("i", raw)[0]
    except OSError:
        return pending


# --- modes -----------------------------------------------------------------------------------

class BadRequest(Exception):
    pass


# The fields each mode takes besides "mode" itself.
MODE_FIELDS = {
    "pass": set(),
    "cut": {"refuse"},
    "cut-after": {"bytes", "direction"},
    "stall": {"direction"},
    "latency": {"ms"},
    "drop": {"direction"},
}


def parse_mode(body):
    """The JSON body of POST /mode -> (name, options), options normalized with defaults."""
    try:
        spec = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequest(f"body is not JSON: {error}") from None
    if not isinstance(spec, dict):
        raise BadRequest("body must be a JSON object")
    name = spec.get("mode")
    if name not in MODE_FIELDS:
        raise BadRequest(f"unknown mode {name!r}; one of {', '.join(MODE_FIELDS)}")
    unexpected = sorted(set(spec) - MODE_FIELDS[name] - {"mode"})
    if unexpected:
        raise BadRequest(f"mode {name} takes no field {', '.join(unexpected)}")

    def direction(default, allowed):
        value = spec.get("direction", default)
        if value not in allowed:
            raise BadRequest(f'"direction" must be one of {", ".join(allowed)}')
        return value

    def number(field, integer):
        value = spec.get(field)
        kinds = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(value) \
                or value < 0:
            raise BadRequest(f'"{field}" must be a {"whole " if integer else ""}number >= 0')
        return value

    if name == "cut":
        refuse = spec.get("refuse", False)
        if not isinstance(refuse, bool):
            raise BadRequest('"refuse" must be true or false')
        return name, {"refuse": refuse}
    if name == "cut-after":
        return name, {"bytes": number("bytes", integer=True),
                      "direction": direction(UP, DIRECTIONS)}
    if name == "stall":
        return name, {"direction": direction("both", DIRECTIONS + ("both",))}
    if name == "latency":
        return name, {"ms": number("ms", integer=False)}
    if name == "drop":
        return name, {"direction": direction(UP, DIRECTIONS)}
    return name, {}


def describe(name, options):
    return " ".join([name] + [f"{key}={json.dumps(value)}" for key, value in options.items()])


# --- one direction of a connection -----------------------------------------------------------

class Pipe:
    """Bytes read from `src` and written to `dst` (two transports), under the proxy's mode.

    Everything read waits in `pending` (arrival time, bytes) until the mode lets it through:
    not stalled, its latency served, and `dst` not asking us to slow down. Reading from `src`
    pauses while the mode stalls this direction or too much is pending, which is what makes a
    stall (or a slow peer) push back on the sender through the kernel's buffers.
    """

    def __init__(self, conn, direction):
        self.conn = conn
        self.proxy = conn.proxy
        self.direction = direction
        self.src = self.dst = None  # the client's end at once, the upstream's once connected
        self.pending = collections.deque()
        self.pending_bytes = 0
        self.dst_paused = False  # dst's write buffer is full (asyncio flow control)
        self.eof = False  # src sent EOF: pass it on once pending is empty
        self.eof_sent = False
        self.budget = None  # cut-after: bytes still to forward before the cut
        self.armed_bytes = None  # cut-after: the N it was armed with, for the log
        self.cut_pending = False  # the budget is spent: cut once pending is written
        self.timer = None  # wakes pump() when the next chunk's latency is served
        self.forwarded = 0

    def feed(self, data):
        """Data read from src."""
        if self.conn.dying or self.cut_pending:
            return
        if self.proxy.dropping(self.direction):
            self.proxy.dropped[self.direction] += len(data)
            return
        if self.budget is not None:
            if len(data) >= self.budget:
                data, self.cut_pending, self.budget = data[:self.budget], True, None
            else:
                self.budget -= len(data)
        if data:
            self.pending.append((self.proxy.loop.time(), data))
            self.pending_bytes += len(data)
        self.pump()

    def src_eof(self):
        self.eof = True
        self.pump()

    def set_dst_paused(self, paused):
        self.dst_paused = paused
        if not paused:
            self.pump()

    def stop(self):
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def pump(self):
        """Write whatever the mode lets through; called on data, EOF, timers and mode changes."""
        self.stop()
        dst = self.dst
        if self.conn.dying or (dst is not None and dst.is_closing()):
            return
        if dst is None:  # still connecting: hold what was read, and stop reading more
            self.update_reading()
            return
        if not self.proxy.stalled(self.direction):
            delay = self.proxy.latency()
            now = self.proxy.loop.time()
            while self.pending and not self.dst_paused:
                arrived, data = self.pending[0]
                if arrived + delay > now:
                    self.timer = self.proxy.loop.call_at(arrived + delay, self.pump)
                    break
                self.pending.popleft()
                self.pending_bytes -= len(data)
                dst.write(data)  # may call pause_writing() on dst's protocol at once
                self.forwarded += len(data)
                self.proxy.forwarded[self.direction] += len(data)
            if not self.pending:
                if self.cut_pending:
                    self.conn.cut_after(self)
                    return
                if self.eof and not self.eof_sent:
                    self.eof_sent = True
                    try:
                        if dst.can_write_eof():
                            dst.write_eof()  # sent once dst's write buffer is flushed
                    except (OSError, RuntimeError):
                        pass  # dst is going away; its connection_lost() closes the pair
                    self.conn.direction_ended()
                    return
        self.update_reading()

    def update_reading(self):
        """Read from src only while this direction may flow and has room to hold more."""
        src = self.src
        if src is None or src.is_closing() or src not in self.conn.settled:
            return
        flowing = (self.dst is not None and not self.conn.dying and not self.eof
                   and not self.cut_pending and not self.proxy.stalled(self.direction)
                   and self.pending_bytes < HIGH_WATER)
        if flowing:
            src.resume_reading()
        else:
            src.pause_reading()


# --- a proxied connection --------------------------------------------------------------------

class Side(asyncio.Protocol):
    """The protocol of one socket of a connection: the client's or the upstream's."""

    def __init__(self, name, reads, writes, conn=None):
        self.name = name
        self.reads = reads  # the direction this socket's data goes
        self.writes = writes  # the direction whose data this socket receives
        self.conn = conn

    def data_received(self, data):
        if self.conn is not None:
            self.conn.pipes[self.reads].feed(data)

    def eof_received(self):
        if self.conn is not None:
            self.conn.pipes[self.reads].src_eof()
        return True  # keep the socket open to write the other direction (half-close)

    def pause_writing(self):
        if self.conn is not None:
            self.conn.pipes[self.writes].set_dst_paused(True)

    def resume_writing(self):
        if self.conn is not None:
            self.conn.pipes[self.writes].set_dst_paused(False)

    def connection_lost(self, exc):
        if self.conn is not None:
            self.conn.transport_lost(self.name, exc)


class ClientSide(Side):
    """Accepted on a route's listening port; starts the connection (or refuses it)."""

    def __init__(self, proxy, route):
        super().__init__("client", reads=UP, writes=DOWN)
        self.proxy = proxy
        self.route = route

    def connection_made(self, transport):
        self.conn = self.proxy.accept(self.route, transport)


class UpstreamSide(Side):
    def __init__(self, conn):
        super().__init__("upstream", reads=DOWN, writes=UP, conn=conn)

    def connection_made(self, transport):
        self.conn.upstream_made(transport)


class Connection:
    def __init__(self, proxy, route, number, client):
        self.proxy = proxy
        self.route = route
        self.number = number
        self.client = client
        self.upstream = None
        self.pipes = {UP: Pipe(self, UP), DOWN: Pipe(self, DOWN)}
        self.pipes[UP].src = self.pipes[DOWN].dst = client
        self.settled = set()  # transports whose reading may be paused and resumed (settle())
        self.started = proxy.loop.time()
        self.open_transports = 1
        self.finished = proxy.loop.create_future()  # done when both sockets are closed
        self.connecting = None
        self.cutting = None
        self.armed_generation = None  # the cut-after mode (by generation) that armed us
        self.dying = False  # a cut is under way: nothing more is read or forwarded
        self.closed = False

    def __str__(self):
        return f"#{self.number} :{self.route.listen}->:{self.route.upstream}"

    def start(self):
        # Reading from the client stops until there is somewhere to forward to, once settled.
        self.proxy.loop.call_soon(self.settle, self.client)
        self.connecting = asyncio.create_task(self.connect())

    def settle(self, transport):
        """From now on the pipes may pause and resume reading from `transport`.

        Not earlier: a transport registers its reader with a call_soon() made before
        connection_made(), and in Pythons without the fix of CPython gh-103607 (Debian's
        3.11.2, /usr/bin/python3 here) that registration ignores a pause_reading() made in
        connection_made(): the transport reads on while marked paused, so every later
        pause_reading() does nothing. A call_soon() made in connection_made() runs after that
        registration. What is read before it (a chunk at most) waits in the pipe as usual."""
        if not self.closed and not transport.is_closing():
            self.settled.add(transport)
            for pipe in self.pipes.values():
                pipe.update_reading()

    async def connect(self):
        loop = self.proxy.loop
        try:
            await asyncio.wait_for(
                loop.create_connection(lambda: UpstreamSide(self), HOST, self.route.upstream),
                CONNECT_TIMEOUT)
        except (OSError, asyncio.TimeoutError) as error:
            if not self.closed:
                self.proxy.failed += 1
                detail = "timed out" if isinstance(error, asyncio.TimeoutError) else str(error)
                self.close(f"upstream {HOST}:{self.route.upstream} unreachable ({detail})",
                           rst=True)

    def upstream_made(self, transport):
        if self.closed:  # cut, or the client left, while we were connecting
            transport.abort()
            return
        self.upstream = transport
        self.open_transports += 1
        self.pipes[UP].dst = self.pipes[DOWN].src = transport
        self.proxy.loop.call_soon(self.settle, transport)
        # Forward now what the client sent while we were connecting (an AMQP or PostgreSQL
        # client speaks at once and then waits for the server), and its EOF if it came.
        for pipe in self.pipes.values():
            pipe.pump()

    # cut-after ------------------------------------------------------------------------------

    def arm(self, options, generation):
        pipe = self.pipes[options["direction"]]
        pipe.budget = pipe.armed_bytes = options["bytes"]
        self.armed_generation = generation

    def disarm(self):
        for pipe in self.pipes.values():
            pipe.budget = None
        self.armed_generation = None

    @property
    def armed(self):
        return not self.closed and any(
            pipe.budget is not None or pipe.cut_pending for pipe in self.pipes.values())

    def cut_after(self, pipe):
        """The budget is spent and written: let those last bytes reach the peer, then reset."""
        self.dying = True
        for each in self.pipes.values():
            each.stop()
            each.update_reading()
        self.cutting = asyncio.create_task(self.finish_cut_after(pipe))

    async def finish_cut_after(self, pipe):
        # A reset throws away whatever is still in our send queue, so wait (bounded) until the
        # peer's kernel has acknowledged everything; on loopback that is at once.
        deadline = self.proxy.loop.time() + DRAIN_TIMEOUT
        while not self.closed and unsent_bytes(pipe.dst) > 0 and self.proxy.loop.time() < deadline:
            await asyncio.sleep(0.005)
        if not self.closed:
            generation = self.armed_generation
            self.close(f"cut after {pipe.armed_bytes} more B {pipe.direction}", rst=True, cut=True)
            self.proxy.cut_after_fired(generation)

    # ending ---------------------------------------------------------------------------------

    def direction_ended(self):
        if all(pipe.eof_sent for pipe in self.pipes.values()):
            self.close("closed by both peers", rst=False)

    def transport_lost(self, name, exc):
        self.open_transports -= 1
        if not self.closed:
            if exc is None:
                self.close(f"{name} closed", rst=False)
            else:
                self.close(f"{name} reset ({exc.__class__.__name__})", rst=True)
        if self.open_transports <= 0 and not self.finished.done():
            self.finished.set_result(None)

    def close(self, reason, rst, cut=False):
        """Close both sockets, with a RST (rst=True) or a FIN after the pending writes."""
        if self.closed:
            return
        self.closed = self.dying = True
        for pipe in self.pipes.values():
            pipe.stop()
        for task in (self.connecting, self.cutting):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
        for transport in (self.client, self.upstream):
            if transport is not None:
                if rst:
                    reset(transport)
                else:
                    transport.close()
        if self.open_transports <= 0 and not self.finished.done():
            self.finished.set_result(None)
        self.proxy.connection_closed(self, reason, cut)


# --- the proxy -------------------------------------------------------------------------------

class Route:
    def __init__(self, listen, upstream):
        self.listen = listen
        self.upstream = upstream
        self.live = 0
        self.accepted = 0
        self.server = None


class Proxy:
    def __init__(self, routes):
        self.routes = routes
        self.loop = asyncio.get_running_loop()
        self.mode, self.options = "pass", {}
        self.generation = 0  # bumped by every POST /mode
        self.connections = set()
        self.numbered = 0
        self.accepted = self.cut = self.refused = self.failed = 0
        self.forwarded = dict.fromkeys(DIRECTIONS, 0)
        self.dropped = dict.fromkeys(DIRECTIONS, 0)

    # What the mode means for one direction; asked by the pipes each time they move data.

    def stalled(self, direction):
        return self.mode == "stall" and self.options["direction"] in (direction, "both")

    def dropping(self, direction):
        return self.mode == "drop" and self.options["direction"] == direction

    def latency(self):
        return self.options["ms"] / 1000 if self.mode == "latency" else 0.0

    # Connections.

    def accept(self, route, transport):
        self.accepted += 1
        route.accepted += 1
        self.numbered += 1
        if self.mode == "cut" and self.options["refuse"]:
            self.refused += 1
            reset(transport)
            log(f"#{self.numbered} :{route.listen}->:{route.upstream} refused (mode cut, refuse)")
            return None
        conn = Connection(self, route, self.numbered, transport)
        self.connections.add(conn)
        route.live += 1
        if self.mode == "cut-after":
            conn.arm(self.options, self.generation)
        conn.start()
        return conn

    def connection_closed(self, conn, reason, cut):
        self.connections.discard(conn)
        conn.route.live -= 1
        if cut:
            self.cut += 1
        seconds = self.loop.time() - conn.started
        up, down = conn.pipes[UP].forwarded, conn.pipes[DOWN].forwarded
        log(f"{conn} {reason} after {seconds:.3f}s, forwarded {up} B up, {down} B down")

    # Modes.

    async def set_mode(self, name, options):
        previous = describe(self.mode, self.options)
        self.generation += 1
        for conn in self.connections:
            conn.disarm()
        if name == "cut":
            # Switch first, so that nothing accepted while the cut is under way slips through.
            self.mode, self.options = ("cut", options) if options["refuse"] else ("pass", {})
            victims = list(self.connections)
            after = "refusing new connections" if options["refuse"] else "then pass"
            log(f"mode {previous} -> {describe(name, options)}: "
                f"reset {len(victims)} live connection(s), {after}")
            for conn in victims:
                conn.close("cut", rst=True, cut=True)
            if victims:  # answer once the resets have actually gone out
                await asyncio.wait([conn.finished for conn in victims], timeout=DRAIN_TIMEOUT)
        else:
            self.mode, self.options = name, options
            if name == "cut-after":
                for conn in self.connections:
                    conn.arm(options, self.generation)
            log(f"mode {previous} -> {describe(name, options)} "
                f"({len(self.connections)} live connection(s))")
        for conn in list(self.connections):  # resume, re-time or stop what is pending
            for pipe in conn.pipes.values():
                pipe.pump()

    def cut_after_fired(self, generation):
        """The first cut of a cut-after mode sends new connections back to pass."""
        if self.mode == "cut-after" and generation == self.generation:
            previous = describe(self.mode, self.options)
            self.mode, self.options = "pass", {}
            armed = sum(conn.armed for conn in self.connections)
            log(f"mode {previous} -> pass (first cut done; {armed} connection(s) still armed)")

    def status(self):
        return {
            "mode": self.mode,
            "options": self.options,
            "live": len(self.connections),
            "accepted": self.accepted,
            "cut": self.cut,
            "refused": self.refused,
            "failed": self.failed,
            "armed": sum(conn.armed for conn in self.connections),
            "bytes": dict(self.forwarded),
            "dropped": dict(self.dropped),
            "routes": [{"listen": route.listen, "upstream": route.upstream, "live": route.live,
                        "accepted": route.accepted} for route in self.routes],
        }

    # The control interface: a minimal HTTP/1.1 server, one request per connection.

    async def handle_control(self, reader, writer):
        try:
            try:
                code, payload = await asyncio.wait_for(self.control_request(reader),
                                                       REQUEST_TIMEOUT)
            except BadRequest as error:
                code, payload = 400, {"error": str(error)}
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
                code, payload = 400, {"error": "malformed HTTP request"}
            except asyncio.TimeoutError:
                code, payload = 408, {"error": "request timed out"}
            except Exception as error:  # a bug here must not take the proxy down
                log(f"control: internal error: {error!r}")
                code, payload = 500, {"error": repr(error)}
            body = (json.dumps(payload) + "\n").encode()
            reasons = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
                       408: "Request Timeout", 411: "Length Required", 413: "Content Too Large",
                       500: "Internal Server Error"}
            head = (f"HTTP/1.1 {code} {reasons.get(code, 'Error')}\r\n"
                    "Content-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n"
                    "Connection: close\r\n\r\n")
            writer.write(head.encode() + body)
            await writer.drain()
        except (OSError, asyncio.TimeoutError):
            pass  # the client went away
        finally:
            writer.close()

    async def control_request(self, reader):
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _version = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            if line:
                key, _, value = line.partition(":")
                headers[key.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return 411, {"error": "send the body with a Content-Length"}
        length = int(headers.get("content-length", "0"))
        if length < 0 or length > MAX_REQUEST:
            return 413, {"error": "body too large"}
        body = await reader.readexactly(length) if length else b""
        path = target.split("?", 1)[0]
        routes = {"/status": "GET", "/mode": "POST"}
        if path not in routes:
            return 404, {"error": f"no such endpoint {path}; GET /status, POST /mode"}
        if method != routes[path]:
            return 405, {"error": f"{path} takes {routes[path]}"}
        if path == "/mode":
            await self.set_mode(*parse_mode(body))
        return 200, self.status()


# --- command line ----------------------------------------------------------------------------

def port(text):
    value = int(text)
    if not 0 <= value <= 65535:
        raise ValueError(text)
    return value


def upstream_port(text):
    """PORT or 127.0.0.1:PORT; any other host is refused, the proxy stays on loopback."""
    host, _, number = text.rpartition(":")
    if host not in ("", HOST):
        raise argparse.ArgumentTypeError(f"upstream must be on {HOST}, not {host}")
    try:
        return port(number)
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad port in {text!r}") from None


def route_spec(text):
    listen, sep, upstream = text.partition(":")
    try:
        if not sep:
            raise ValueError(text)
        return port(listen), upstream_port(upstream)
    except (ValueError, argparse.ArgumentTypeError):
        raise argparse.ArgumentTypeError(f"route must be LISTEN:UPSTREAM_PORT, not {text!r}") \
            from None


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Modes and the control API are described at the top of this file.")
    parser.add_argument("--listen", type=port, help="port to accept connections on (0: any)")
    parser.add_argument("--upstream", type=upstream_port, help="[127.0.0.1:]PORT to forward to")
    parser.add_argument("--route", type=route_spec, action="append", default=[],
                        metavar="LISTEN:UPSTREAM_PORT", help="another listen/upstream pair")
    parser.add_argument("--control", type=port, required=True,
                        help="port of the HTTP control interface (0: any)")
    args = parser.parse_args(argv)
    if (args.listen is None) != (args.upstream is None):
        parser.error("--listen and --upstream go together")
    routes = ([(args.listen, args.upstream)] if args.listen is not None else []) + args.route
    if not routes:
        parser.error("give at least one route: --listen and --upstream, or --route")
    return args.control, routes


async def serve(control_port, routes):
    proxy = Proxy([Route(listen, upstream) for listen, upstream in routes])
    loop = proxy.loop
    try:
        for route in proxy.routes:
            route.server = await loop.create_server(
                lambda route=route: ClientSide(proxy, route), HOST, route.listen)
            route.listen = route.server.sockets[0].getsockname()[1]
        control = await asyncio.start_server(proxy.handle_control, HOST, control_port,
                                             limit=MAX_REQUEST)
    except OSError as error:
        log(f"cannot listen: {error}")
        return 1
    control_port = control.sockets[0].getsockname()[1]

    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    ready = {"control": control_port,
             "routes": [{"listen": r.listen, "upstream": r.upstream} for r in proxy.routes]}
    print(json.dumps(ready), flush=True)
    log(f"control on {HOST}:{control_port}; "
        + ", ".join(f"{HOST}:{r.listen} -> {HOST}:{r.upstream}" for r in proxy.routes))

    await stop.wait()
    log("stopping")
    for route in proxy.routes:
        route.server.close()
    control.close()
    live = list(proxy.connections)
    for conn in live:
        conn.close("closed: proxy stopping", rst=False)
    if live:
        await asyncio.wait([conn.finished for conn in live], timeout=DRAIN_TIMEOUT)
    return 0


def main():
    control_port, routes = parse_args()
    sys.exit(asyncio.run(serve(control_port, routes)))


if __name__ == "__main__":
    main()
