#!/usr/bin/python3
"""An integrator's AMQP client (pika), written from docs/asyncapi.yaml alone: every exchange,
routing key, queue name, queue argument, envelope key, AMQP property and message schema it uses
is taken from the document, and every message it sends or receives is checked against the
document's schema for it.

    amqp_client_story.py AMQP_URL STAFF TOKEN ASYNCAPI_YAML [--household H] [--category C] [--timeout S]

1. publishes a `submission.create` for household H (default guanghua-3-05), with publisher
   confirms, mandatory, and reply-to on an exclusive queue, and learns the request id from the
   `command.reply`;
2. takes that request's `request.assigned` from the unit's queue (unit.grid.<grid>), leaving
   other assignments in place;
3. publishes a `staff.command` claim as STAFF with TOKEN (empty: $GRIDLOOP_TOKEN) and reply-to,
   waits for an ok `command.reply`, then acks the assignment.

Exit 0 only if all three worked, with the request id on the last line; otherwise non-zero with
the reason on stderr. Every wait is bounded (--timeout, default 30 s). Needs pika (PYTHONPATH)
and PyYAML."""
import argparse
import datetime
import json
import os
import re
import ssl
import sys
import time
import uuid

import yaml

try:
    import pika
    import pika.exceptions
except ImportError:
    sys.exit("amqp_client_story: pika is not importable (put the pika wheel's directory on PYTHONPATH)")


class StoryFailure(Exception):
    """What went wrong, in words."""


def say(text):
    print(text, flush=True)


# ── The document ──────────────────────────────────────────────────────────────────────────


class Contract:
    """docs/asyncapi.yaml, read the way an integrator reads it."""

    def __init__(self, path):
        with open(path, encoding="utf-8") as file:
            self.document = yaml.safe_load(file)
        if not str(self.document.get("asyncapi", "")).startswith("2."):
            raise StoryFailure(f"{path} is not an AsyncAPI 2 document")
        self.channels = self.document.get("channels") or {}

    def resolve(self, node):
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if not ref.startswith("#/"):
                raise StoryFailure(f"the document refers outside itself: {ref}")
            current = self.document
            for part in ref[2:].split("/"):
                if not isinstance(current, dict) or part not in current:
                    raise StoryFailure(f"the document's $ref {ref} does not resolve")
                current = current[part]
            node = current
        return node

    def message(self, name):
        messages = self.document.get("components", {}).get("messages", {})
        if name not in messages:
            raise StoryFailure(f"the document describes no message {name!r}")
        return self.resolve(messages[name])

    def message_type(self, name):
        """The AMQP `type` property (and envelope `type`) of message `name`."""
        binding = ((self.message(name).get("bindings") or {}).get("amqp") or {}).get("messageType")
        if not binding:
            raise StoryFailure(f"message {name!r} has no bindings.amqp.messageType in the document")
        return binding

    def content_type(self, name):
        return self.message(name).get("contentType") or self.document.get("defaultContentType") or "application/json"

    def channel_for(self, message_name, operation, is_):
        """(channel name, channel, operation object) of the channel whose `operation` carries the message."""
        found = []
        for name, channel in self.channels.items():
            op = channel.get(operation) if isinstance(channel, dict) else None
            if not op or not op.get("message"):
                continue
            message = op["message"]
            candidates = message.get("oneOf") or [message]
            if any(self.resolve(candidate) is self.message(message_name) for candidate in candidates):
                binding = self.binding(channel)
                if binding.get("is", "routingKey") == is_:
                    found.append((name, channel, op))
        if len(found) != 1:
            raise StoryFailure(f"the document has {len(found)} {is_} channels to {operation} {message_name!r} (expected one): {[f[0] for f in found]}")
        return found[0]

    def binding(self, channel):
        return (self.resolve(channel.get("bindings")) or {}).get("amqp") or {}

    def fill(self, template, channel, values):
        """The channel-name template with its parameters, each checked against its schema."""
        def one(match):
            key = match.group(1)
            if key not in values:
                raise StoryFailure(f"the document's name {template!r} has parameter {{{key}}}, which this client cannot fill")
            parameter = self.resolve((channel.get("parameters") or {}).get(key) or {})
            problems = self.validate(values[key], parameter.get("schema") or {}, f"parameter {key}")
            if problems:
                raise StoryFailure("; ".join(problems))
            return values[key]
        return re.sub(r"\{(\w+)\}", one, template)

    def exchange_and_key(self, channel_name, channel, values):
        binding = self.binding(channel)
        exchange = (binding.get("exchange") or {}).get("name")
        if exchange is None:
            raise StoryFailure(f"channel {channel_name} has no bindings.amqp.exchange.name")
        return exchange, self.fill(channel_name, channel, values)

    def envelope_schema(self):
        return self.resolve(self.document["components"]["schemas"]["MessageEnvelope"])

    # A JSON Schema check of the parts the document uses (draft 07 subset).
    def validate(self, value, schema, where="message"):
        problems = []
        schema = self.resolve(schema)
        if not isinstance(schema, dict):
            return problems
        for part in schema.get("allOf") or []:
            problems += self.validate(value, part, where)
        kind = schema.get("type")
        checks = {
            "string": lambda v: isinstance(v, str),
            "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
            "boolean": lambda v: isinstance(v, bool),
            "object": lambda v: isinstance(v, dict),
            "array": lambda v: isinstance(v, list),
            "null": lambda v: v is None,
        }
        if kind and not checks[kind](value):
            return problems + [f"{where}: expected {kind}, got {json.dumps(value, ensure_ascii=False)[:80]}"]
        if "const" in schema and value != schema["const"]:
            problems.append(f"{where}: must be {schema['const']!r}, is {value!r}")
        if "enum" in schema and value not in schema["enum"]:
            problems.append(f"{where}: {value!r} is not one of {schema['enum']}")
        if isinstance(value, str):
            if "pattern" in schema and not re.search(schema["pattern"], value):
                problems.append(f"{where}: {value!r} does not match {schema['pattern']}")
            if len(value) > schema.get("maxLength", len(value)) or len(value) < schema.get("minLength", 0):
                problems.append(f"{where}: length {len(value)} outside the document's limits")
            if schema.get("format") == "date-time" and not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$", value):
                problems.append(f"{where}: {value!r} is not an ISO 8601 date-time")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if value < schema.get("minimum", value) or value > schema.get("maximum", value):
                problems.append(f"{where}: {value} outside the document's range")
        if isinstance(value, dict):
            for key in schema.get("required") or []:
                if key not in value:
                    problems.append(f"{where}: the document requires {key!r}")
            properties = schema.get("properties") or {}
            for key, item in value.items():
                if key in properties:
                    problems += self.validate(item, properties[key], f"{where}.{key}")
                elif isinstance(schema.get("additionalProperties"), dict):
                    problems += self.validate(item, schema["additionalProperties"], f"{where}.{key}")
        if isinstance(value, list) and "items" in schema:
            for index, item in enumerate(value):
                problems += self.validate(item, schema["items"], f"{where}[{index}]")
        return problems

    def check_message(self, name, body, properties):
        """Checks a received body and its AMQP properties against message `name`; returns the envelope."""
        try:
            envelope = json.loads(body)
        except ValueError as error:
            raise StoryFailure(f"a {name} body is not JSON: {error}: {body[:200]!r}")
        problems = self.validate(envelope, self.message(name).get("payload") or {}, name)
        if properties.content_type != self.content_type(name):
            problems.append(f"{name}: content_type {properties.content_type!r}, the document says {self.content_type(name)!r}")
        if properties.type != self.message_type(name):
            problems.append(f"{name}: AMQP type {properties.type!r}, the document says {self.message_type(name)!r}")
        if properties.message_id != envelope.get("messageId"):
            problems.append(f"{name}: AMQP message_id {properties.message_id!r} is not the envelope's messageId {envelope.get('messageId')!r}")
        if problems:
            raise StoryFailure("a message GridLoop sent does not match the document:\n  " + "\n  ".join(problems))
        return envelope

    def envelope(self, name, payload, request_id=None, correlation_id=None):
        """An envelope for message `name`, with every key the document requires, checked against it."""
        schema = self.envelope_schema()
        version_schema = (schema.get("properties") or {}).get("schemaVersion") or {}
        values = {
            "messageId": str(uuid.uuid4()),
            "type": self.message_type(name),
            "schemaVersion": (version_schema.get("enum") or [version_schema.get("const", 1)])[0],
            "occurredAt": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "requestId": request_id,
            "correlationId": correlation_id or str(uuid.uuid4()),
            "payload": payload,
        }
        unknown = [key for key in schema.get("required") or [] if key not in values]
        if unknown:
            raise StoryFailure(f"the document's envelope requires {unknown}, which this client does not know how to fill")
        envelope = {key: value for key, value in values.items() if key in (schema.get("properties") or {}) and value is not None}
        problems = self.validate(envelope, self.message(name).get("payload") or {}, name)
        if problems:
            raise StoryFailure(f"the {name} this client built does not match the document:\n  " + "\n  ".join(problems))
        return envelope


# ── The broker ────────────────────────────────────────────────────────────────────────────


def connect(url, timeout):
    parameters = pika.URLParameters(url)
    parameters.connection_attempts = 1
    parameters.socket_timeout = min(timeout, 10)
    parameters.stack_timeout = min(timeout, 15)
    parameters.blocked_connection_timeout = timeout
    parameters.client_properties = {"connection_name": "gridloop-asyncapi-client-story"}
    if url.startswith("amqps://") and parameters.ssl_options is None:
        context = ssl.create_default_context(cafile=os.environ.get("AMQP_TLS_CA_FILE") or None)
        parameters.ssl_options = pika.SSLOptions(context, parameters.host)
    try:
        return pika.BlockingConnection(parameters)
    except pika.exceptions.AMQPError as error:
        raise StoryFailure(f"cannot connect to the broker: {error!r}")


class Client:
    def __init__(self, contract, connection, timeout):
        self.contract = contract
        self.connection = connection
        self.channel = connection.channel()
        self.channel.confirm_delivery()  # publisher confirms, as the document asks
        self.timeout = timeout
        self.replies = {}
        # The reply queue, declared as the document's reply channel says.
        name, channel, _ = contract.channel_for("command.reply", "subscribe", "queue")
        queue = contract.binding(channel).get("queue") or {}
        declared = self.channel.queue_declare(
            queue="", durable=bool(queue.get("durable", False)), exclusive=bool(queue.get("exclusive", True)),
            auto_delete=bool(queue.get("autoDelete", True)),
        )
        self.reply_to = declared.method.queue
        self.channel.basic_consume(self.reply_to, self.on_reply, auto_ack=True)
        say(f"USING reply channel {name} as exclusive queue {self.reply_to}")

    def on_reply(self, _channel, _method, properties, body):
        self.replies[properties.correlation_id] = (properties, body)

    def publish(self, name, envelope, operation, exchange, routing_key, reply=False):
        """Publishes with the operation's AMQP settings; waits for the broker's confirm."""
        settings = (operation.get("bindings") or {}).get("amqp") or {}
        properties = pika.BasicProperties(
            content_type=self.contract.content_type(name), delivery_mode=settings.get("deliveryMode", 2),
            message_id=envelope["messageId"], type=self.contract.message_type(name), correlation_id=envelope["correlationId"],
            reply_to=self.reply_to if reply else None, timestamp=int(time.time()),
        )
        body = json.dumps(envelope, ensure_ascii=False, sort_keys=True).encode("utf-8")
        try:
            self.channel.basic_publish(exchange, routing_key, body, properties, mandatory=bool(settings.get("mandatory", True)))
        except pika.exceptions.UnroutableError:
            raise StoryFailure(f"the broker returned the {name} as unroutable: no queue is bound to {exchange} with {routing_key!r} (services not started on this vhost?)")
        except pika.exceptions.NackError:
            raise StoryFailure(f"the broker nacked the {name}")
        say(f"PUBLISHED {name} {envelope['messageId']} to {exchange} with {routing_key} (confirmed)")

    def wait_reply(self, message_id, what):
        """The command.reply whose correlation_id is `message_id` (the document's reply rule)."""
        deadline = time.monotonic() + self.timeout
        while message_id not in self.replies:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise StoryFailure(f"no command.reply to the {what} within {self.timeout} s (correlation id {message_id})")
            self.connection.process_data_events(time_limit=min(remaining, 0.5))
        properties, body = self.replies.pop(message_id)
        return self.contract.check_message("command.reply", body, properties)


# ── The story ─────────────────────────────────────────────────────────────────────────────


def story(arguments):
    contract = Contract(arguments.asyncapi)
    token = arguments.token or os.environ.get("GRIDLOOP_TOKEN", "")
    if not token:
        raise StoryFailure("no staff token: pass it as TOKEN or set GRIDLOOP_TOKEN (`gridloop auth token --staff ID`)")
    household = arguments.household
    grid = arguments.grid or household.rsplit("-", 1)[0]
    unit = f"grid:{grid}"
    tier, unit_id = unit.split(":", 1)

    connection = connect(arguments.url, arguments.timeout)
    try:
        client = Client(contract, connection, arguments.timeout)

        # The unit's queue, as the document names and declares it, before anything is assigned.
        queue_template, queue_channel, _ = contract.channel_for("request.assigned", "subscribe", "queue")
        names = {"tier": tier, "unit": unit_id}
        queue = contract.fill(queue_template, queue_channel, names)
        queue_binding = contract.binding(queue_channel).get("queue") or {}
        queue_arguments = {
            key: contract.fill(value, queue_channel, names) if isinstance(value, str) else value
            for key, value in (queue_channel.get("x-gridloop-queue-arguments") or {}).items()
        }
        client.channel.queue_declare(
            queue=queue, durable=bool(queue_binding.get("durable", True)), exclusive=bool(queue_binding.get("exclusive", False)),
            auto_delete=bool(queue_binding.get("autoDelete", False)), arguments=queue_arguments,
        )
        for item in queue_channel.get("x-gridloop-bindings") or []:
            client.channel.queue_bind(queue, item["exchange"], contract.fill(item["routingKey"], queue_channel, names))
        say(f"USING unit queue {queue} (declared with {queue_arguments})")

        # (a) The submission.
        name, channel, operation = contract.channel_for("submission.create", "publish", "routingKey")
        exchange, routing_key = contract.exchange_and_key(name, channel, {})
        marker = uuid.uuid4().hex[:12]
        submission = {
            "idempotencyKey": f"asyncapi-story-{marker}",
            "submission": {
                "category": arguments.category,
                "description": f"AsyncAPI client story {marker}: 自来水发黄",
                "location": {"householdId": household},
                "reporter": {"name": "王芳", "phone": "13800005678"},
                "channel": "cli",
            },
        }
        envelope = contract.envelope("submission.create", submission)
        client.publish("submission.create", envelope, operation, exchange, routing_key, reply=True)
        reply = client.wait_reply(envelope["messageId"], "submission")
        answer = reply["payload"]
        if not answer.get("ok"):
            raise StoryFailure(f"the submission was refused: {answer.get('code')}: {answer.get('message')} {answer.get('errors') or ''}")
        request_id = answer.get("requestId")
        if not request_id or reply.get("correlationId") != envelope["correlationId"]:
            raise StoryFailure(f"the submission's reply lacks the request id or our correlation id: {reply}")
        say(f"SUBMITTED {request_id} ({answer.get('state')}, {answer.get('message')})")

        # (b) The assignment, from the unit's queue; others stay where they are.
        deadline = time.monotonic() + arguments.timeout
        held = []
        mine = None
        try:
            while mine is None:
                method, properties, body = client.channel.basic_get(queue, auto_ack=False)
                if method is None:
                    if time.monotonic() > deadline:
                        raise StoryFailure(f"no assignment of {request_id} in {queue} within {arguments.timeout} s ({len(held)} others seen)")
                    connection.process_data_events(time_limit=0.25)
                    continue
                assignment = contract.check_message("request.assigned", body, properties)
                if assignment["payload"]["requestId"] == request_id:
                    mine = (method, assignment)
                else:
                    held.append(method.delivery_tag)
        finally:
            for tag in held:  # not ours: back to the queue for the unit's staff
                client.channel.basic_nack(tag, requeue=True)
        method, assignment = mine
        if assignment["payload"]["unit"] != unit:
            raise StoryFailure(f"the assignment is for {assignment['payload']['unit']}, not {unit}")
        say(f"ASSIGNED {assignment['payload']['assignmentId']} to {assignment['payload']['unit']}: {assignment['payload']['reason']} ({len(held)} other assignments left in the queue)")

        # (c) The claim, as the staff member the token proves.
        name, channel, operation = contract.channel_for("staff.command", "publish", "routingKey")
        exchange, routing_key = contract.exchange_and_key(name, channel, {"action": "claim"})
        command = {"action": "claim", "requestId": request_id, "staff": arguments.staff, "unit": unit, "token": token}
        envelope = contract.envelope("staff.command", command, request_id=request_id, correlation_id=assignment["correlationId"])
        client.publish("staff.command", envelope, operation, exchange, routing_key, reply=True)
        try:
            reply = client.wait_reply(envelope["messageId"], "claim")
        except StoryFailure:
            client.channel.basic_nack(method.delivery_tag, requeue=True)
            raise
        answer = reply["payload"]
        if answer.get("code") == "unauthenticated":
            client.channel.basic_nack(method.delivery_tag, requeue=True)  # as the document says: back for whoever is signed in
        else:
            client.channel.basic_ack(method.delivery_tag)  # routing answered: this copy has done its job
        if not answer.get("ok"):
            raise StoryFailure(f"the claim was refused: {answer.get('code')}: {answer.get('message')}")
        if answer.get("state") != "claimed" or answer.get("requestId") != request_id:
            raise StoryFailure(f"the claim's reply says {answer}")
        say(f"CLAIMED by {arguments.staff}: {answer.get('message')}")
        return request_id
    finally:
        try:
            connection.close()
        except pika.exceptions.AMQPError:
            pass


def main():
    parser = argparse.ArgumentParser(description="Submit, take and claim a request over AMQP using only docs/asyncapi.yaml.")
    parser.add_argument("url", help="the broker, amqp://user:pass@host:port/vhost")
    parser.add_argument("staff", help="the staff member who claims (e.g. cui-chunhua)")
    parser.add_argument("token", help="the staff member's token (empty: $GRIDLOOP_TOKEN)")
    parser.add_argument("asyncapi", help="path of docs/asyncapi.yaml")
    parser.add_argument("--household", default="guanghua-3-05", help="the household that reports (default guanghua-3-05)")
    parser.add_argument("--grid", help="its grid (default: the household id without its last part)")
    parser.add_argument("--category", default="water", help="a category that is not an open incident in the grid (default water)")
    parser.add_argument("--timeout", type=float, default=30, help="seconds each wait may take (default 30)")
    arguments = parser.parse_args()
    try:
        request_id = story(arguments)
    except StoryFailure as failure:
        print(f"FAIL: {failure}", file=sys.stderr)
        sys.exit(1)
    except pika.exceptions.AMQPError as error:
        print(f"FAIL: the broker: {error!r}", file=sys.stderr)
        sys.exit(1)
    print(request_id)


if __name__ == "__main__":
    main()
