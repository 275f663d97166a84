#!/usr/bin/python3
"""Fails when docs/asyncapi.yaml and the AMQP contract in the code differ, in either direction:

- the message types (`MessageType` constants) and the document's messages;
- the exchanges (`GridLoopExchange`), the service queues (`GridLoopQueue`) with their bindings
  and arguments, the unit queues' and dead-letter queues' naming patterns (`UnitRef`,
  `GridLoopQueue.dead`);
- each message's payload struct (named ``Like This`` in the constant's doc comment), and for
  every schema named after a Swift type, its properties (names, JSON types, required = not
  optional) against the struct's stored properties (or its CodingKeys), or its values against
  the String enum's raw values;
- and every `$ref` in the document resolves.

Run by `deploy/local.sh test`, like openapi-routes.py; `--root DIR` checks another tree (a copy),
`--document FILE` another document."""
import argparse
import pathlib
import re
import sys

import yaml

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--root", default=str(pathlib.Path(__file__).resolve().parents[2]), help="the repository (default: this script's)")
parser.add_argument("--document", help="the AsyncAPI document (default: ROOT/docs/asyncapi.yaml)")
options = parser.parse_args()
root = pathlib.Path(options.root)
document_path = pathlib.Path(options.document) if options.document else root / "docs/asyncapi.yaml"

problems = []  # (section, text)


def problem(section, text):
    problems.append((section, text))


# ── Reading Swift ─────────────────────────────────────────────────────────────────────────


def mask(text, keep_strings):
    """`text` with comments (and, unless keep_strings, the insides of string literals) blanked,
    newlines and offsets kept, so that braces and declarations can be found by position."""
    out = list(text)
    n = len(text)

    def blank(start, end):
        for k in range(start, min(end, n)):
            if out[k] != "\n":
                out[k] = " "

    def string_end(i):
        """`i` at an opening quote: the index after the literal's closing quote."""
        multi = text.startswith('"""', i)
        quote = '"""' if multi else '"'
        j = i + len(quote)
        while j < n:
            if text[j] == "\\" and j + 1 < n and text[j + 1] == "(":
                j = code_until_paren(j + 2)
                continue
            if text[j] == "\\":
                j += 2
                continue
            if text.startswith(quote, j):
                return j + len(quote)
            if not multi and text[j] == "\n":
                return j
            j += 1
        return n

    def code_until_paren(i):
        """Inside an interpolation: the index after its closing parenthesis."""
        depth = 1
        while i < n and depth:
            if text[i] == '"':
                end = string_end(i)
                if not keep_strings:
                    blank(i + 1, end - 1)
                i = end
                continue
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        return i

    i = 0
    while i < n:
        if text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            blank(i, end)
            i = end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            blank(i, end)
            i = end
        elif text[i] == '"':
            end = string_end(i)
            if not keep_strings:
                quote = 3 if text.startswith('"""', i) else 1
                blank(i + quote, end - quote)
            i = end
        else:
            i += 1
    return "".join(out)


class SwiftType:
    def __init__(self, name, kind, header, path):
        self.name = name  # qualified: `SubmissionDraft.DraftReporter`
        self.kind = kind  # struct, enum, class, actor
        self.header = header  # the declaration line
        self.path = path
        self.properties = []  # (name, type text)
        self.cases = []  # (name, raw value or None)
        self.coding_keys = None  # [(case, key)] when the type has `enum CodingKeys`
        self.custom_encoding = False  # `func encode(to:)` of its own

    @property
    def string_raw(self):
        match = re.search(r"\b(?:enum)\s+\w+(?:<[^>]*>)?\s*:\s*([\w.]+)", self.header)
        return self.kind == "enum" and match is not None and match.group(1) == "String"

    def encoded(self):
        """[(JSON key, Swift type)] as synthesized Codable writes them."""
        if self.coding_keys is None:
            return list(self.properties)
        types = dict(self.properties)
        return [(key, types.get(case, "?")) for case, key in self.coding_keys]


types = {}  # qualified name → SwiftType
extension_members = []  # (extended type, member kind) for `encode(to:)` in extensions

DECLARATION = re.compile(r"^\s*(?:@[\w.]+(?:\([^)]*\))?\s+)*(?:(?:public|package|private|fileprivate|internal|open|final|indirect)\s+)*(struct|enum|class|actor|extension|protocol)\s+([A-Za-z_][\w.]*)")
PROPERTY = re.compile(
    r"^\s*(?:@[\w.]+(?:\([^)]*\))?\s+)*(?:(?:public|package|private|fileprivate|internal|open|final|nonisolated|lazy|weak|unowned)(?:\(set\))?\s+)*(var|let)\s+(\w+)\s*:\s*(.+)$"
)


def read_swift(path):
    text = path.read_text(encoding="utf-8")
    code = mask(text, keep_strings=False).split("\n")
    literal = mask(text, keep_strings=True).split("\n")
    stack = []  # (SwiftType or None for an extension, extended name, body depth)
    pending = None
    depth = 0
    for number, line in enumerate(code):
        match = DECLARATION.match(line)
        if match and pending is None:
            kind, name = match.groups()
            qualified = name if kind == "extension" else ".".join([entry[1] for entry in stack] + [name])
            pending = (kind, qualified, literal[number])
        top = stack[-1] if stack else None
        if top and depth == top[2] and not match:
            owner = top[0]
            if owner is not None and owner.kind in ("struct", "class", "actor"):
                prop = PROPERTY.match(line)
                if prop and not re.search(r"\b(static|class)\s+(var|let)\b", line):
                    name, rest = prop.group(2), prop.group(3)
                    brace, equals = rest.find("{"), rest.find("=")
                    computed = brace >= 0 and (equals < 0 or brace < equals)
                    if not computed:
                        type_text = rest[:equals] if equals >= 0 else rest
                        owner.properties.append((name, type_text.strip()))
            if owner is not None and owner.kind == "enum":
                case = re.match(r"^\s*(?:indirect\s+)?case\s+(.+)$", literal[number])
                if case:
                    for part in re.split(r",(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", case.group(1)):
                        item = re.match(r"\s*`?(\w+)`?\s*(?:=\s*\"((?:[^\"\\]|\\.)*)\")?\s*(\(.*)?$", part)
                        if item:
                            owner.cases.append((item.group(1), item.group(2), item.group(3)))
            if re.search(r"\bfunc\s+encode\s*\(\s*to\b", line):
                if owner is not None:
                    owner.custom_encoding = True
                else:
                    extension_members.append(top[1])
        for char in line:
            if char == "{":
                depth += 1
                if pending is not None:
                    kind, qualified, header = pending
                    owner = None if kind in ("extension", "protocol") else SwiftType(qualified, kind, header, path)
                    if owner is not None:
                        types.setdefault(qualified, owner)
                    stack.append((owner, qualified, depth))
                    pending = None
            elif char == "}":
                depth -= 1
                while stack and depth < stack[-1][2]:
                    stack.pop()
        if pending is not None and "{" not in line and line.strip().endswith(("}", ")")) and "=" in line:
            pending = None  # e.g. a `typealias` mistaken for nothing; never a body


def finish_types():
    for swift in list(types.values()):
        parent, _, last = swift.name.rpartition(".")
        if last == "CodingKeys" and parent in types:
            types[parent].coding_keys = [(name, raw if raw is not None else name) for name, raw, _ in swift.cases]
    for name in extension_members:
        if name in types:
            types[name].custom_encoding = True


def find_type(name, context=None):
    """The Swift type `name` stands for: as written inside `context` (a qualified type name, for
    nested types such as `Action` in `StaffCommand`) or at the top, else a unique simple name."""
    scopes = context.split(".") if context else []
    for depth in range(len(scopes), -1, -1):
        qualified = ".".join(scopes[:depth] + [name])
        if qualified in types:
            return types[qualified]
    matches = [swift for qualified, swift in types.items() if qualified.split(".")[-1] == name.split(".")[-1]]
    return matches[0] if len(matches) == 1 else None


shared = sorted(root.glob("Shared/**/*.swift"))
if not shared:
    sys.exit(f"asyncapi-check: no Swift sources under {root / 'Shared'}")
for source in shared:
    read_swift(source)
finish_types()


def constants(path, enum):
    """`static let name = "value"` inside `enum <enum> { … }` of `path`, in order."""
    text = mask(path.read_text(encoding="utf-8"), keep_strings=True)
    start = re.search(r"\benum\s+%s\b[^{]*\{" % enum, text)
    if not start:
        problem("code", f"{path.relative_to(root)}: no `enum {enum}`")
        return {}
    depth, i = 1, start.end()
    while depth and i < len(text):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
    body = text[start.end():i]
    return dict(re.findall(r'static\s+let\s+(\w+)\s*=\s*"([^"]*)"', body))


# Message types, each with the payload struct its doc comment names.
message_type_file = root / "Shared/Domain/MessageType.swift"
message_types = {}  # "request.assigned" → (constant, payload struct or None)
type_constants = {}
comment = []
for line in message_type_file.read_text(encoding="utf-8").splitlines():
    stripped = line.strip()
    if stripped.startswith("///"):
        comment.append(stripped[3:])
        continue
    match = re.match(r'(?:public\s+|package\s+)?static\s+let\s+(\w+)\s*=\s*"([^"]+)"', stripped)
    if match:
        constant, value = match.groups()
        named = [name for name in re.findall(r"``(\w+(?:\.\w+)*)``", " ".join(comment)) if find_type(name) and find_type(name).kind == "struct"]
        message_types[value] = (constant, named[0] if named else None)
        type_constants[constant] = value
    comment = []
if not message_types:
    problem("code", "no `static let … = \"…\"` in Shared/Domain/MessageType.swift")

topology_file = root / "Shared/ServiceSupport/GridLoopTopology.swift"
topology_text = mask(topology_file.read_text(encoding="utf-8"), keep_strings=True)
exchange_constants = constants(topology_file, "GridLoopExchange")
queue_constants = constants(topology_file, "GridLoopQueue")
limit_match = re.search(r"static\s+let\s+deliveryLimit\s*=\s*(\d+)", topology_text)
delivery_limit = int(limit_match.group(1)) if limit_match else None
dead_exchange_match = re.search(r"deadLetterExchange:\s*GridLoopExchange\.(\w+)", topology_text)
dead_exchange = exchange_constants.get(dead_exchange_match.group(1)) if dead_exchange_match else None
quorum = re.search(r"\.init\(name:\s*name,\s*quorum:\s*true", topology_text) is not None

# Each service queue's bindings: `queue(GridLoopQueue.x, bindings: [(GridLoopExchange.y, "key" | MessageType.z), …])`.
code_bindings = {}
for queue, inside in re.findall(r"queue\(\s*GridLoopQueue\.(\w+)\s*,\s*bindings:\s*\[(.*?)\]\s*\)", topology_text, re.S):
    pairs = set()
    for exchange, key, key_constant in re.findall(r"\(\s*GridLoopExchange\.(\w+)\s*,\s*(?:\"([^\"]*)\"|MessageType\.(\w+))\s*\)", inside):
        pairs.add((exchange_constants.get(exchange, f"GridLoopExchange.{exchange}?"), key if not key_constant else type_constants.get(key_constant, f"MessageType.{key_constant}?")))
    code_bindings[queue_constants.get(queue, f"GridLoopQueue.{queue}?")] = pairs


def template(swift_literal, names):
    """A Swift string literal with interpolations (`unit.\\(routingKey)`) as a document pattern."""
    return re.sub(r"\\\(([^)]*)\)", lambda m: names.get(m.group(1), "{" + m.group(1) + "}"), swift_literal)


unit_text = (root / "Shared/Domain/UnitRef.swift").read_text(encoding="utf-8")
routing_key_literal = re.search(r'var\s+routingKey\s*:\s*String\s*\{\s*"([^"]*)"', unit_text)
queue_name_literal = re.search(r'var\s+queueName\s*:\s*String\s*\{\s*"([^"]*)"', unit_text)
dead_literal = re.search(r'func\s+dead\(\s*_\s+queue:\s*String\s*\)\s*->\s*String\s*\{\s*"([^"]*)"', topology_text)
unit_routing_key = template(routing_key_literal.group(1), {"tier.rawValue": "{tier}", "id": "{unit}"}) if routing_key_literal else None
unit_queue = template(queue_name_literal.group(1), {"routingKey": unit_routing_key or "?"}) if queue_name_literal else None
dead_queue = template(dead_literal.group(1), {"queue": "{queue}"}) if dead_literal else None
for what, found in (("UnitRef.routingKey", unit_routing_key), ("UnitRef.queueName", unit_queue), ("GridLoopQueue.dead(_:)", dead_queue)):
    if found is None:
        problem("code", f"cannot read {what} (a one-line string literal) from the Swift source")

# ── Reading the document ──────────────────────────────────────────────────────────────────

try:
    document = yaml.safe_load(document_path.read_text(encoding="utf-8"))
except (OSError, yaml.YAMLError) as error:
    sys.exit(f"asyncapi-check: cannot read {document_path}: {error}")
if not isinstance(document, dict) or not str(document.get("asyncapi", "")).startswith("2."):
    sys.exit(f"asyncapi-check: {document_path} is not an AsyncAPI 2 document")
channels = document.get("channels") or {}
components = document.get("components") or {}
doc_messages = components.get("messages") or {}
schemas = components.get("schemas") or {}


def resolve(node):
    """Follows a local `$ref`; returns the node itself otherwise (None when it does not resolve)."""
    seen = 0
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and seen < 20:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            return None
        current = document
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(current, dict) or part not in current:
                return None
            current = current[part]
        node, seen = current, seen + 1
    return node


def walk_refs(node, where):
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and resolve({"$ref": ref}) is None:
            problem("document", f"{where}: $ref {ref} does not resolve")
        for key, value in node.items():
            walk_refs(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            walk_refs(value, f"{where}/{index}")


walk_refs(document, "#")


def ref_name(node):
    """The schema a property stands for: `$ref`, or `allOf: [$ref]` with a description."""
    if not isinstance(node, dict):
        return None
    if isinstance(node.get("$ref"), str):
        return node["$ref"].rsplit("/", 1)[-1]
    all_of = node.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], dict) and "$ref" in all_of[0]:
        return all_of[0]["$ref"].rsplit("/", 1)[-1]
    return None


# Messages of the document: the key, `name`, the AMQP `messageType` and the `type` const agree.
doc_types = {}
for key, raw in doc_messages.items():
    message = resolve(raw) or {}
    binding = ((message.get("bindings") or {}).get("amqp") or {}).get("messageType")
    if binding is None:
        if not message.get("x-gridloop-not-a-type"):
            problem("messages", f"docs message {key} has no bindings.amqp.messageType (and is not marked x-gridloop-not-a-type)")
        continue
    payload = message.get("payload") or {}
    parts = payload.get("allOf") if isinstance(payload.get("allOf"), list) else [payload]
    envelope_ref = [ref_name(part) for part in parts if ref_name(part)]
    const = [((part.get("properties") or {}).get("type") or {}).get("const") for part in parts if isinstance(part, dict)]
    const = [value for value in const if value is not None]
    struct = [ref_name((part.get("properties") or {}).get("payload")) for part in parts if isinstance(part, dict) and (part.get("properties") or {}).get("payload")]
    for label, value in (("name", message.get("name")), ("bindings.amqp.messageType", binding), ("payload type const", const[0] if const else None)):
        if value != key:
            problem("messages", f"docs message {key}: {label} is {value!r}, not {key!r}")
    if "MessageEnvelope" not in envelope_ref:
        problem("messages", f"docs message {key}: its payload is not allOf [MessageEnvelope, …] (every message travels in the envelope)")
    doc_types[key] = struct[0] if struct else None

# Which messages the channels carry.
carried = set()
for name, channel in channels.items():
    for operation in ("publish", "subscribe"):
        message = (channel.get(operation) or {}).get("message") if isinstance(channel, dict) else None
        if not message:
            continue
        for item in (message.get("oneOf") or [message]):
            referenced = ref_name(item)
            if referenced:
                carried.add(referenced)

for value in sorted(set(message_types) - set(doc_types)):
    problem("message types", f"MessageType.{message_types[value][0]} = {value!r} is not a message of docs/asyncapi.yaml")
for value in sorted(set(doc_types) - set(message_types)):
    problem("message types", f"docs/asyncapi.yaml describes message {value!r}, which is no MessageType constant")
for value in sorted(set(doc_types) - carried):
    problem("message types", f"docs message {value!r} is on no channel (no publish/subscribe operation names it)")

# ── Exchanges and queues ──────────────────────────────────────────────────────────────────

doc_exchanges = set()
doc_queues = {}  # name → channel
for name, channel in channels.items():
    if not isinstance(channel, dict):
        continue
    binding = (resolve(channel.get("bindings")) or {}).get("amqp") or {}
    if binding.get("is", "routingKey") == "routingKey":
        exchange = (binding.get("exchange") or {}).get("name")
        if exchange:
            doc_exchanges.add(exchange)
        else:
            problem("exchanges", f"docs channel {name}: a routing key without bindings.amqp.exchange.name")
    else:
        queue = (binding.get("queue") or {}).get("name")
        if queue != name:
            problem("queues", f"docs channel {name}: its queue is named {queue!r}; the channel name must be the queue name")
        doc_queues[name] = channel
    for item in channel.get("x-gridloop-bindings") or []:
        doc_exchanges.add(item.get("exchange"))

code_exchanges = set(exchange_constants.values())
for exchange in sorted(code_exchanges - doc_exchanges):
    problem("exchanges", f"GridLoopExchange {exchange!r} is on no channel of docs/asyncapi.yaml")
for exchange in sorted(doc_exchanges - code_exchanges):
    problem("exchanges", f"docs/asyncapi.yaml names exchange {exchange!r}, which is no GridLoopExchange constant")

service_queues = {name: channel for name, channel in doc_queues.items() if "{" not in name}
code_queues = set(queue_constants.values())
for queue in sorted(code_queues - set(service_queues)):
    problem("queues", f"GridLoopQueue {queue!r} is not a queue channel of docs/asyncapi.yaml")
for queue in sorted(set(service_queues) - code_queues):
    problem("queues", f"docs/asyncapi.yaml names queue {queue!r}, which is no GridLoopQueue constant")


def check_arguments(name, channel, expected):
    found = channel.get("x-gridloop-queue-arguments")
    if not isinstance(found, dict):
        problem("queues", f"docs queue {name}: no x-gridloop-queue-arguments (code: {expected})")
        return
    for key in sorted(set(expected) | set(found)):
        if str(found.get(key)) != str(expected.get(key)):
            problem("queues", f"docs queue {name}: argument {key} is {found.get(key)!r}, the code declares {expected.get(key)!r}")


def queue_arguments(name):
    arguments = {"x-queue-type": "quorum"} if quorum else {}
    if dead_exchange:
        arguments.update({"x-dead-letter-exchange": dead_exchange, "x-dead-letter-routing-key": name})
    if quorum and delivery_limit is not None:
        arguments["x-delivery-limit"] = delivery_limit
    return arguments


for queue in sorted(code_queues & set(service_queues)):
    channel = service_queues[queue]
    documented = {(item.get("exchange"), item.get("routingKey")) for item in channel.get("x-gridloop-bindings") or []}
    if queue not in code_bindings:
        problem("queues", f"GridLoopQueue {queue!r}: no `queue(GridLoopQueue.…, bindings: […])` in GridLoopTopology.swift to compare with")
        continue
    for exchange, key in sorted(code_bindings[queue] - documented):
        problem("queues", f"{queue} is bound to {exchange} with {key!r} in the code, not in docs/asyncapi.yaml")
    for exchange, key in sorted(documented - code_bindings[queue]):
        problem("queues", f"docs/asyncapi.yaml binds {queue} to {exchange} with {key!r}; the code does not")
    check_arguments(queue, channel, queue_arguments(queue))

assignments = exchange_constants.get("assignments")
if unit_queue:
    channel = doc_queues.get(unit_queue)
    if channel is None:
        problem("queues", f"no queue channel {unit_queue!r} (UnitRef.queueName) in docs/asyncapi.yaml; it has {sorted(n for n in doc_queues if '{' in n)}")
    else:
        documented = {(item.get("exchange"), item.get("routingKey")) for item in channel.get("x-gridloop-bindings") or []}
        if (assignments, unit_routing_key) not in documented:
            problem("queues", f"docs queue {unit_queue}: not bound to {assignments} with {unit_routing_key!r} (UnitRef.routingKey)")
        check_arguments(unit_queue, channel, queue_arguments(unit_queue))
    routing_channel = channels.get(unit_routing_key) or {}
    exchange = (((resolve(routing_channel.get("bindings")) or {}).get("amqp") or {}).get("exchange") or {}).get("name")
    if exchange != assignments:
        problem("queues", f"no routing-key channel {unit_routing_key!r} (UnitRef.routingKey) on {assignments} in docs/asyncapi.yaml")
if dead_queue:
    channel = doc_queues.get(dead_queue)
    if channel is None:
        problem("queues", f"no queue channel {dead_queue!r} (GridLoopQueue.dead) in docs/asyncapi.yaml")
    else:
        documented = {(item.get("exchange"), item.get("routingKey")) for item in channel.get("x-gridloop-bindings") or []}
        if (dead_exchange, "{queue}") not in documented:
            problem("queues", f"docs queue {dead_queue}: not bound to {dead_exchange} with '{{queue}}'")

# ── Payloads and schemas ──────────────────────────────────────────────────────────────────

for value, (constant, struct) in sorted(message_types.items()):
    if value not in doc_types:
        continue
    if struct is None:
        problem("payloads", f"MessageType.{constant}: its doc comment names no payload struct (``Struct``), so its schema cannot be checked")
        continue
    documented = doc_types[value]
    swift = find_type(documented) if documented else None
    if documented is None:
        problem("payloads", f"docs message {value}: no `payload` $ref (the code's payload is {struct})")
    elif swift is None or swift.name != find_type(struct).name:
        problem("payloads", f"docs message {value}: payload schema {documented}, the code's payload is {struct}")

SCALARS = {"String": ("string", None), "Int": ("integer", None), "Double": ("number", None), "Float": ("number", None), "Bool": ("boolean", None), "UUID": ("string", None)}


def swift_shape(type_text):
    """(optional, shape) of a Swift type: ('array', inner), ('dictionary', value), ('named', name)."""
    text = type_text.strip()
    optional = False
    if text.endswith("?") or text.endswith("!"):
        optional, text = True, text[:-1].strip()
    elif text.startswith("Optional<") and text.endswith(">"):
        optional, text = True, text[len("Optional<"):-1].strip()
    if text.startswith("[") and text.endswith("]"):
        inside = text[1:-1]
        depth = 0
        for index, char in enumerate(inside):
            depth += {"[": 1, "]": -1, "<": 1, ">": -1}.get(char, 0)
            if char == ":" and depth == 0:
                return optional, ("dictionary", swift_shape(inside[index + 1:])[1])
        return optional, ("array", swift_shape(inside)[1])
    return optional, ("named", text)


def compare_type(where, shape, node, generic, context):
    """Problems with a document property `node` for the Swift shape."""
    node = node if isinstance(node, dict) else {}
    kind, inner = shape
    referenced = ref_name(node)
    if kind == "array":
        if node.get("type") != "array":
            return [f"{where}: Swift array, document type {node.get('type') or referenced!r}"]
        return compare_type(where + "[]", inner, node.get("items"), generic, context)
    if kind == "dictionary":
        if node.get("type") != "object" or not isinstance(node.get("additionalProperties"), dict):
            return [f"{where}: Swift dictionary, document needs type object with additionalProperties"]
        return compare_type(where + "{}", inner, node["additionalProperties"], generic, context)
    if inner in generic:
        return []  # a generic parameter (the envelope's payload): any object
    if inner in SCALARS:
        expected = SCALARS[inner][0]
        actual = node.get("type") or (schemas.get(referenced) or {}).get("type")
        return [] if actual == expected else [f"{where}: Swift {inner}, document type {actual!r} (expected {expected!r})"]
    if inner == "Date":
        target = schemas.get(referenced) if referenced else node
        target = target or {}
        if target.get("type") == "string" and target.get("format") == "date-time":
            return []
        return [f"{where}: Swift Date, document needs a string of format date-time (or the Timestamp schema)"]
    swift = find_type(inner, context)
    if swift is None:
        return [f"{where}: Swift type {inner} not found in Shared/"]
    target = find_type(referenced) if referenced else None
    if target is None or target.name != swift.name:
        return [f"{where}: Swift {swift.name}, document {('$ref ' + referenced) if referenced else ('type ' + repr(node.get('type')))} (expected a $ref to {swift.name})"]
    return []


checked = 0
for name, schema in sorted(schemas.items()):
    schema = resolve(schema) or {}
    swift = find_type(name)
    is_object = schema.get("type") == "object" or "properties" in schema
    if swift is None:
        if is_object:
            problem("schemas", f"docs schema {name} is an object but no Swift struct is named {name} (renamed? name the schema after the struct)")
        continue
    if swift.kind == "enum":
        if swift.string_raw:
            code_values = [raw if raw is not None else case for case, raw, _ in swift.cases]
            doc_values = schema.get("enum") or []
            for value in sorted(set(code_values) - set(doc_values)):
                problem("schemas", f"{swift.name} has case {value!r}; docs schema {name} does not list it")
            for value in sorted(set(doc_values) - set(code_values)):
                problem("schemas", f"docs schema {name} lists {value!r}; {swift.name} has no such case")
            checked += 1
        continue
    if swift.custom_encoding:
        if is_object:
            problem("schemas", f"docs schema {name} is an object, but {swift.name} encodes itself (`encode(to:)`): describe what it writes")
        continue
    if not is_object:
        problem("schemas", f"docs schema {name} is not an object, but {swift.name} encodes as one (its stored properties)")
        continue
    checked += 1
    generic = set(re.findall(r"<\s*(\w+)\s*:", swift.header))
    code_properties = dict(swift.encoded())
    doc_properties = schema.get("properties") or {}
    for key in sorted(set(code_properties) - set(doc_properties)):
        problem("schemas", f"{swift.name}.{key} ({code_properties[key]}) is missing from docs schema {name}")
    for key in sorted(set(doc_properties) - set(code_properties)):
        problem("schemas", f"docs schema {name} has property {key!r}; {swift.name} has no such stored property (or coding key)")
    required_code = {key for key, type_text in code_properties.items() if not swift_shape(type_text)[0]}
    required_doc = set(schema.get("required") or [])
    for key in sorted((required_code - required_doc) & set(doc_properties)):
        problem("schemas", f"docs schema {name}: {key!r} is always encoded ({swift.name}.{key}: {code_properties[key]}) but not required")
    for key in sorted((required_doc - required_code) & set(code_properties)):
        problem("schemas", f"docs schema {name}: {key!r} is required but {swift.name}.{key} is optional ({code_properties[key]}: absent when nil)")
    for key in sorted(set(code_properties) & set(doc_properties)):
        for text in compare_type(f"docs schema {name}.{key}", swift_shape(code_properties[key])[1], doc_properties[key], generic, swift.name):
            problem("schemas", text)

# ── Report ────────────────────────────────────────────────────────────────────────────────

if problems:
    print(f"docs/asyncapi.yaml and the code differ ({len(problems)}):", file=sys.stderr)
    for section, text in problems:
        print(f"  [{section}] {text}", file=sys.stderr)
    sys.exit(1)
print(
    f"docs/asyncapi.yaml matches the code: {len(message_types)} message types, {len(code_exchanges)} exchanges, "
    f"{len(code_queues)} service queues (+ unit and dead-letter queues), {checked} schemas"
)
