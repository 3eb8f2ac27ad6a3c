"""Checks that serve.py's speed-ups leave moto's answers unchanged.

Starts moto as it is (python -m moto.server) and moto through serve.py, both
on 127.0.0.1 with the same hash seed, sends both the same requests (raw
DynamoDB JSON: tables with a range key, numeric and binary range keys,
global and local secondary indexes; items with every attribute type, nested
maps and lists, sets, binary, numbers in many spellings, items large enough
to fill 1 MB pages; queries on tables and indexes with key conditions,
filters, projections (nested paths, list elements), limits, both directions,
COUNT, consumed capacity, paging by LastEvaluatedKey and by start keys that
are not items; the legacy parameters; scans, gets, batch gets; conditional
puts, updates and deletes with returned values; batch writes with puts and
deletes; transactions; errors), and compares each answer: status, headers
(but the date and the request id) and body, byte for byte. It also checks
that the speed-ups are in force in the patched server, so that a fast path
that silently stopped applying would fail here too.

Usage: python test_serve.py   (exit status 0 when every answer matches)
"""

import base64
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# serve.py's fast paths (its RTBF_MOTO_STATS counts), each of which the
# requests below must exercise
SPEEDUPS = ["partition", "start_key", "results_copy", "serialize", "parse", "dynamo_to_dict", "item_init", "item_size", "cast_value", "project", "project_strings", "sort", "sorted_again", "routing"]
VOLATILE_HEADERS = {"date", "x-amzn-requestid", "x-amz-request-id", "x-amz-id-2"}
# Table descriptions carry the creation time, which differs between servers.
VOLATILE_FIELDS = ("CreationDateTime", "LastUpdateToPayPerRequestDateTime", "LastDecreaseDateTime", "LastIncreaseDateTime")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    def __init__(self, name, argv, env=None):
        self.name = name
        self.seconds = 0.0
        self.port = free_port()
        self.log = tempfile.TemporaryFile()
        env = dict(os.environ, PYTHONHASHSEED="0", **(env or {}))
        env.pop("RTBF_MOTO_PROFILE", None)
        self.proc = subprocess.Popen(argv + ["-H", "127.0.0.1", "-p", str(self.port)], stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    self.log.seek(0)
                    raise SystemExit(f"{name} server did not start:\n{self.log.read().decode(errors='replace')}")
                time.sleep(0.1)

    def request(self, method, path, body=b"", headers=None):
        start = time.perf_counter()
        try:
            return self._request(method, path, body, headers)
        finally:
            self.seconds += time.perf_counter() - start

    def _request(self, method, path, body, headers):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        conn.request(method, path, body, headers or {})
        resp = conn.getresponse()
        data = resp.read()
        out = (resp.status, sorted((k.lower(), v) for k, v in resp.getheaders() if k.lower() not in VOLATILE_HEADERS), data)
        conn.close()
        return out

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def ddb_headers(op):
    return {
        "X-Amz-Target": "DynamoDB_20120810." + op,
        "Content-Type": "application/x-amz-json-1.0",
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20250101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
    }


def normalize(body):
    """The body with the creation times of table descriptions zeroed."""
    if not body.startswith(b"{"):
        return body
    try:
        doc = json.loads(body)
    except ValueError:
        return body
    return json.dumps(normalize_doc(doc)).encode()


def normalize_doc(doc):
    def walk(x):
        if isinstance(x, dict):
            for k in list(x):
                if k in VOLATILE_FIELDS:
                    x[k] = 0
                else:
                    walk(x[k])
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(doc)
    return doc


class Check:
    def __init__(self, plain, patched):
        self.plain, self.patched = plain, patched
        self.count = 0
        self.failures = []
        self.bytes = 0

    def ddb(self, op, body):
        raw = json.dumps(body).encode()
        a = self.plain.request("POST", "/", raw, ddb_headers(op))
        b = self.patched.request("POST", "/", raw, ddb_headers(op))
        self.compare(op, raw, a, b, volatile=op in ("CreateTable", "DescribeTable", "DeleteTable", "UpdateTable"))
        return a[0], (json.loads(a[2]) if a[2].startswith(b"{") else a[2])

    def expect(self, ok, what):
        """A check on moto's own answers, that the requests test what they mean to."""
        if not ok:
            self.failures.append((what, b"", None, None))
            print(f"UNEXPECTED: {what}", file=sys.stderr)

    def raw(self, label, method, path, body=b"", headers=None):
        a = self.plain.request(method, path, body, headers)
        b = self.patched.request(method, path, body, headers)
        self.compare(label, body, a, b)
        return a

    def compare(self, label, request, a, b, volatile=False):
        self.count += 1
        self.bytes += len(a[2])
        sa, ha, ba = a
        sb, hb, bb = b
        if volatile:
            ba, bb = normalize(ba), normalize(bb)
            ha = [h for h in ha if h[0] not in ("x-amz-crc32", "content-length")]
            hb = [h for h in hb if h[0] not in ("x-amz-crc32", "content-length")]
        if (sa, ha, ba) != (sb, hb, bb):
            self.failures.append((label, request, a, b))
            if len(self.failures) <= 5:
                print(f"MISMATCH #{self.count} {label}: request {request[:400]!r}", file=sys.stderr)
                print(f"  moto:     {sa} {ha}\n            {ba[:600]!r}", file=sys.stderr)
                print(f"  serve.py: {sb} {hb}\n            {bb[:600]!r}", file=sys.stderr)


# ---- data ----

R = random.Random(20250301)


def rand_str(n=None):
    n = R.randint(0, 12) if n is None else n
    alphabet = "abcxyzABC019 _-#.:/" + "éß漢字😀"
    return "".join(R.choice(alphabet) for _ in range(n))


NUMBERS = ["0", "1", "-1", "-0", "1.50", "001", "1e3", "1E+3", "-2.5e-3", "0.000001", "123456789012345678901234567890123456",
           "9.9999999999999999999999999999999999999E+125", "1E-130", "3.14159", "100", "42.0", "-7"]


def rand_bytes():
    return base64.b64encode(bytes(R.randrange(256) for _ in range(R.randint(0, 20)))).decode()


def rand_value(depth=0):
    kinds = ["S", "N", "B", "SS", "NS", "BS", "BOOL", "NULL"] + (["M", "L"] if depth < 3 else [])
    k = R.choice(kinds)
    if k == "S":
        return {"S": rand_str()}
    if k == "N":
        return {"N": R.choice(NUMBERS)}
    if k == "B":
        return {"B": rand_bytes()}
    if k == "SS":
        return {"SS": list(dict.fromkeys(rand_str(R.randint(1, 6)) for _ in range(R.randint(1, 5))))}
    if k == "NS":
        return {"NS": list(dict.fromkeys(R.choice(NUMBERS[:8] + ["5", "6", "7.25"]) for _ in range(R.randint(1, 4))))}
    if k == "BS":
        return {"BS": list(dict.fromkeys(base64.b64encode(bytes([R.randrange(256), i])).decode() for i in range(R.randint(1, 4))))}
    if k == "BOOL":
        return {"BOOL": R.random() < 0.5}
    if k == "NULL":
        return {"NULL": True}
    if k == "M":
        return {"M": {rand_str(R.randint(1, 5)): rand_value(depth + 1) for _ in range(R.randint(0, 4))}}
    return {"L": [rand_value(depth + 1) for _ in range(R.randint(0, 4))]}


def moto_size(value):
    """An attribute value's size as moto counts it (DynamoType.size)."""
    (kind, v), = value.items()
    if kind == "N":
        return len(v)
    if kind in ("SS", "NS", "BS"):
        return sum(moto_size({kind[0]: e}) for e in v)
    if kind == "L":
        return sum(moto_size(e) for e in v)
    if kind == "M":
        return sum(len(k.encode()) + moto_size(e) for k, e in v.items())
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "B":
        return len(base64.b64decode(v))
    return len(v.encode())


def item_size(item):
    return sum(len(k.encode()) + moto_size(v) for k, v in item.items())


def sized_item(pk, sk, size):
    """An item with every kind of attribute, names and strings not all
    ASCII, of the given size as moto counts it (filled with ASCII)."""
    item = {"pk": {"S": pk}, "sk": {"S": sk}, "näme": {"S": "zählt Bytes ✓"}, "n": {"N": "123.450"},
            "m": {"M": {"ключ": {"S": "значение"}, "l": {"L": [{"N": "-1e3"}, {"B": "AAECAw=="}, {"BOOL": False}, {"NULL": True}]}}},
            "ss": {"SS": ["ä", "b"]}, "ns": {"NS": ["1", "2.5"]}, "bs": {"BS": ["AQ==", "AgM="]}, "b": {"B": "3q2+7w=="}, "bo": {"BOOL": True},
            "fill": {"S": ""}}
    item["fill"]["S"] = "x" * (size - item_size(item))
    assert item_size(item) == size
    return item


def rand_item(pk, sk, big=False):
    item = {"pk": {"S": pk}, "sk": sk, "kind": {"S": R.choice(["journal", "document", "message", "note"])},
            "author": {"S": R.choice(["client", "practitioner"])}, "who": {"S": R.choice(["c1", "c2", "p1"])},
            "n": {"N": R.choice(NUMBERS)}, "body": {"S": rand_str(R.randint(0, 400)) if not big else "x" * R.randint(60000, 150000)},
            "m": {"M": {"a": {"S": rand_str()}, "l": {"L": [rand_value(2) for _ in range(3)]}, "inner": {"M": {"x": rand_value(2)}}}},
            "l": {"L": [rand_value(1) for _ in range(R.randint(0, 4))]},
            "tags": {"SS": ["a", "b", rand_str(3) or "z"]}}
    for i in range(R.randint(0, 4)):
        item[f"extra{i}"] = rand_value()
    if R.random() < 0.7:
        item["gpk"] = {"S": R.choice(["G1", "G2"])}
        item["gsk"] = {"N": str(R.randint(0, 50))}
    if R.random() < 0.5:
        item["gpk2"] = {"S": R.choice(["H1", "H2"])}
    if R.random() < 0.8:
        item["lsk"] = {"S": rand_str(4)}
    if R.random() < 0.3:
        item["bin"] = {"B": rand_bytes()}
    return item


def main():
    python = sys.executable
    stats = tempfile.NamedTemporaryFile(suffix=".json", delete=False)
    stats.close()
    plain = Server("moto", [python, "-m", "moto.server"])
    patched = Server("serve.py", [python, os.path.join(HERE, "serve.py")], {"RTBF_MOTO_STATS": stats.name})
    c = Check(plain, patched)
    try:
        run(c)
    finally:
        plain.stop()
        patched.stop()
    with open(stats.name) as f:
        used = json.load(f) if os.path.getsize(stats.name) else {}
    os.unlink(stats.name)
    if c.failures:
        print(f"FAIL: {len(c.failures)} of {c.count} answers differ between moto and serve.py (or are not what the test expects)", file=sys.stderr)
        sys.exit(1)
    # every fast path must have served some of those answers
    unused = [name for name in SPEEDUPS if not used.get(name)]
    if unused:
        print(f"FAIL: fast paths not used by serve.py: {unused} (counts: {used})", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {c.count} answers ({c.bytes} bytes) identical from moto ({plain.seconds:.1f} s) and serve.py ({patched.seconds:.1f} s); fast paths used: {used}")


def create_tables(c):
    s = lambda n: {"AttributeName": n, "AttributeType": "S"}  # noqa: E731
    c.ddb("CreateTable", {
        "TableName": "t", "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [s("pk"), s("sk"), s("gpk"), {"AttributeName": "gsk", "AttributeType": "N"}, s("gpk2"), s("lsk")],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "GlobalSecondaryIndexes": [
            {"IndexName": "all", "KeySchema": [{"AttributeName": "gpk", "KeyType": "HASH"}, {"AttributeName": "gsk", "KeyType": "RANGE"}], "Projection": {"ProjectionType": "ALL"}},
            {"IndexName": "keys", "KeySchema": [{"AttributeName": "gpk2", "KeyType": "HASH"}], "Projection": {"ProjectionType": "KEYS_ONLY"}},
            {"IndexName": "incl", "KeySchema": [{"AttributeName": "gpk", "KeyType": "HASH"}, {"AttributeName": "gsk", "KeyType": "RANGE"}], "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["who", "m"]}},
        ],
        "LocalSecondaryIndexes": [
            {"IndexName": "local", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "lsk", "KeyType": "RANGE"}], "Projection": {"ProjectionType": "ALL"}},
        ],
    })
    c.ddb("CreateTable", {"TableName": "num", "BillingMode": "PAY_PER_REQUEST", "AttributeDefinitions": [s("pk"), {"AttributeName": "sk", "AttributeType": "N"}],
                          "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]})
    c.ddb("CreateTable", {"TableName": "bin", "BillingMode": "PAY_PER_REQUEST", "AttributeDefinitions": [s("pk"), {"AttributeName": "sk", "AttributeType": "B"}],
                          "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]})
    c.ddb("CreateTable", {"TableName": "hash", "BillingMode": "PAY_PER_REQUEST", "AttributeDefinitions": [s("id")],
                          "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}]})
    c.ddb("DescribeTable", {"TableName": "t"})


def seed(c):
    # partitions of the main table: many small items, a few big ones (so
    # pages end at 1 MB), and the purge's layout (prefixes of one partition)
    keys = {}
    writes = []
    for p in range(6):
        pk = f"P#{p}"
        for i in range(R.randint(20, 60)):
            sk = R.choice(["JOURNAL#", "DOC#", "CHATREF#", "NOTE#", "MSG#"]) + f"{i:04d}-{rand_str(3)}"
            item = rand_item(pk, {"S": sk})
            keys.setdefault("t", []).append({"pk": item["pk"], "sk": item["sk"]})
            writes.append(("t", item))
    for i in range(25):
        item = rand_item("BIG", {"S": f"B#{i:03d}"}, big=True)
        writes.append(("t", item))
    # the purge's big partition: 1,000 small journal entries, a tenth by a practitioner
    for i in range(1000):
        item = {"pk": {"S": "P#C#big"}, "sk": {"S": f"JOURNAL#{i:06d}"}, "type": {"S": "journal_entry"},
                "authorRole": {"S": "practitioner" if i % 10 == 0 else "client"}, "authorId": {"S": "p1" if i % 10 == 0 else "big"},
                "createdAt": {"S": "2025-03-01T09:00:00Z"}, "title": {"S": "Day"}, "body": {"S": "A private line. " * R.randint(1, 40)}}
        if i % 7 == 0:
            item["objectKeys"] = {"L": [{"S": f"practices/x/{i}.pdf"}]}
        writes.append(("t", item))
    for i in range(80):
        sk = ["-3", "0", "1.5", "10", "2e2", "7", "-0.25", "1000000"][i] if i < 8 else R.choice([f"{i}", f"-{i}.5", f"{i}e-1", f"0.0{i}"])
        writes.append(("num", {"pk": {"S": "N1"}, "sk": {"N": sk}, "v": rand_value()}))
    for i in range(40):
        writes.append(("bin", {"pk": {"S": "B1"}, "sk": {"B": base64.b64encode(bytes([i * 5 % 256, R.randrange(256)])).decode()}, "v": rand_value()}))
    for i in range(30):
        writes.append(("hash", {"id": {"S": f"h{i:03d}"}, "v": rand_value(), "n": {"N": str(i)}}))
    # pages that end at exactly moto's 1 MB (1,000,000 bytes of items), a
    # few bytes under and over: a size counted one byte off moves where a
    # page ends
    for j in range(-4, 5):
        for i in range(9):
            size = 110000 if i < 8 else 1000000 + j - 8 * 110000
            writes.append(("t", sized_item(f"EDGE{j}", f"e{i}", size)))
        writes.append(("t", sized_item(f"EDGE{j}", "e9", 500)))
    R.shuffle(writes)
    # one at a time (PutItem) and in batches of 25 (BatchWriteItem)
    for table, item in writes[:200]:
        c.ddb("PutItem", {"TableName": table, "Item": item})
    rest = writes[200:]
    for s in range(0, len(rest), 25):
        batch = {}
        for table, item in rest[s:s + 25]:
            batch.setdefault(table, []).append({"PutRequest": {"Item": item}})
        c.ddb("BatchWriteItem", {"RequestItems": batch})
    return keys


def page_all(c, body, max_pages=6):
    """Query or Scan page after page, as a client follows LastEvaluatedKey."""
    op = body.pop("_op", "Query")
    for _ in range(max_pages):
        status, out = c.ddb(op, body)
        if status != 200 or not isinstance(out, dict) or "LastEvaluatedKey" not in out:
            return
        body = dict(body, ExclusiveStartKey=out["LastEvaluatedKey"])


def queries(c):
    names = {"#pk": "pk", "#sk": "sk"}
    projections = [None, "#pk, #sk", "#pk, #sk, authorRole, authorId", "#pk, #sk, authorRole, authorId, objectKeys", "m.a, l[1], tags",
                   "m.l[0], m.inner.x, m", "m, m.a", "l[0], l[2], l[0]", "nope, #pk", "extra0, extra1, extra2, bin, n", "#sk, m.l[2].x, l[5]"]
    filters = [None, "authorRole = :client AND authorId = :cid", "attribute_exists(extra0)", "n > :zero", "contains(tags, :a)", "size(body) > :ten",
               "begins_with(kind, :j) OR who = :cid", "attribute_type(l, :L)", "NOT (author = :client)"]
    values = {":client": {"S": "client"}, ":cid": {"S": "big"}, ":zero": {"N": "0"}, ":a": {"S": "a"}, ":ten": {"N": "10"}, ":j": {"S": "j"}, ":L": {"S": "L"}}
    conditions = [("#pk = :pk", {}), ("#pk = :pk AND begins_with(#sk, :prefix)", {":prefix": {"S": "JOURNAL#"}}),
                  ("#pk = :pk AND #sk BETWEEN :lo AND :hi", {":lo": {"S": "CHATREF#"}, ":hi": {"S": "MSG#9"}}),
                  ("#pk = :pk AND #sk < :hi", {":hi": {"S": "JOURNAL#000900"}}), ("#pk = :pk AND #sk >= :lo", {":lo": {"S": "JOURNAL#000777"}}),
                  ("#pk = :pk AND #sk > :lo", {":lo": {"S": "D"}}), ("#pk = :pk AND #sk <= :hi", {":hi": {"S": "NOTE#"}})]
    partitions = ["P#0", "P#1", "P#3", "BIG", "P#C#big", "nobody"]
    for j in range(-4, 5):
        for proj in (None, "sk, näme"):
            body = {"TableName": "t", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": f"EDGE{j}"}}}
            if proj:
                body["ProjectionExpression"] = "sk, #n"
                body["ExpressionAttributeNames"] = {"#n": "näme"}
            _, first = c.ddb("Query", body)
            # the sizes above are moto's: nine items fill a page exactly
            c.expect(first.get("Count") == (9 if j <= 0 else 8), f"EDGE{j}: first page of {first.get('Count')} items")
            page_all(c, body)
    n = 0
    for pk in partitions:
        for cond, cvals in conditions:
            for _ in range(2):
                proj, filt = R.choice(projections), R.choice(filters)
                body = {"TableName": "t", "KeyConditionExpression": cond, "ExpressionAttributeNames": dict(names),
                        "ExpressionAttributeValues": {":pk": {"S": pk}, **cvals}}
                if proj:
                    body["ProjectionExpression"] = proj
                if filt:
                    body["FilterExpression"] = filt
                    body["ExpressionAttributeValues"].update({k: v for k, v in values.items() if k in filt})
                if "#sk" not in cond + (proj or "") + (filt or ""):
                    del body["ExpressionAttributeNames"]["#sk"]
                for k, v in (("Limit", R.choice([None, None, 1, 7, 50, 400])), ("ScanIndexForward", R.choice([None, True, False])),
                             ("ConsistentRead", R.choice([None, True])), ("ReturnConsumedCapacity", R.choice([None, "TOTAL", "INDEXES", "NONE"])),
                             ("Select", R.choice([None, None, "COUNT"]) if not proj else None)):
                    if v is not None:
                        body[k] = v
                page_all(c, body)
                n += 1
    # the purge's own queries, as internal/dynamostore makes them
    for prefix, extra in (("JOURNAL#", ""), ("DOC#", ", objectKeys"), ("CHATREF#", "")):
        page_all(c, {"TableName": "t", "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :prefix)", "ConsistentRead": True,
                     "ExpressionAttributeNames": names, "FilterExpression": "authorRole = :client AND authorId = :cid",
                     "ExpressionAttributeValues": {":pk": {"S": "P#C#big"}, ":prefix": {"S": prefix}, ":client": {"S": "client"}, ":cid": {"S": "big"}},
                     "ProjectionExpression": "#pk, #sk, authorRole, authorId" + extra})
    # start keys that are not items, in both directions, and from elsewhere
    for esk in ({"pk": {"S": "P#C#big"}, "sk": {"S": "JOURNAL#000500x"}}, {"pk": {"S": "P#C#big"}, "sk": {"S": "A"}}, {"pk": {"S": "P#C#big"}, "sk": {"S": "Z"}},
                {"pk": {"S": "P#0"}, "sk": {"S": "JOURNAL#"}}, {"pk": {"S": "P#C#big"}, "sk": {"S": "JOURNAL#000999"}}):
        for forward in (True, False):
            for limit in (None, 3):
                body = {"TableName": "t", "KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": {"S": "P#C#big"}},
                        "ExclusiveStartKey": esk, "ScanIndexForward": forward, "ProjectionExpression": "sk"}
                if limit:
                    body["Limit"] = limit
                c.ddb("Query", body)
    # bad start keys and other errors
    c.ddb("Query", {"TableName": "t", "KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": {"S": "P#C#big"}}, "ExclusiveStartKey": {"pk": {"S": "P#C#big"}}})
    c.ddb("Query", {"TableName": "t", "KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": {"S": "P#C#big"}}, "ExclusiveStartKey": {"pk": {"S": "P#C#big"}, "sk": {"N": "1"}}})
    c.ddb("Query", {"TableName": "t", "KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": {"S": "P#0"}}, "IndexName": "nope"})
    c.ddb("Query", {"TableName": "t", "KeyConditionExpression": "gpk = :g", "ExpressionAttributeValues": {":g": {"S": "G1"}}, "IndexName": "all", "ConsistentRead": True})
    c.ddb("Query", {"TableName": "t", "KeyConditionExpression": "pk = :pk AND", "ExpressionAttributeValues": {":pk": {"S": "P#0"}}})
    c.ddb("Query", {"TableName": "t", "KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": {"S": "P#0"}}, "ProjectionExpression": "#unused"})
    c.ddb("Query", {"TableName": "nope", "KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": {"S": "P#0"}}})
    # secondary indexes
    for index, cond, vals in (("all", "gpk = :g", {":g": {"S": "G1"}}), ("all", "gpk = :g AND gsk BETWEEN :a AND :b", {":g": {"S": "G2"}, ":a": {"N": "5"}, ":b": {"N": "30"}}),
                              ("keys", "gpk2 = :g", {":g": {"S": "H1"}}), ("incl", "gpk = :g AND gsk > :a", {":g": {"S": "G1"}, ":a": {"N": "10"}}),
                              ("local", "pk = :p AND begins_with(lsk, :x)", {":p": {"S": "P#1"}, ":x": {"S": "a"}}), ("local", "pk = :p", {":p": {"S": "P#2"}})):
        for proj, limit in ((None, None), ("pk, sk", 5), ("who, m.a, gsk", None), (None, 7)):
            if True:
                for forward in (True, False):
                    body = {"TableName": "t", "IndexName": index, "KeyConditionExpression": cond, "ExpressionAttributeValues": vals, "ScanIndexForward": forward}
                    if proj:
                        body["ProjectionExpression"] = proj
                    if limit:
                        body["Limit"] = limit
                    page_all(c, body)
    # numeric and binary range keys
    for cond, vals in (("pk = :p", {}), ("pk = :p AND sk > :x", {":x": {"N": "1.5"}}), ("pk = :p AND sk BETWEEN :x AND :y", {":x": {"N": "-1"}, ":y": {"N": "200"}})):
        for limit in (None, 4):
            body = {"TableName": "num", "KeyConditionExpression": cond, "ExpressionAttributeValues": {":p": {"S": "N1"}, **vals}}
            if limit:
                body["Limit"] = limit
            page_all(c, body)
            page_all(c, dict(body, ScanIndexForward=False, ProjectionExpression="sk, v"))
    for limit in (None, 6):
        body = {"TableName": "bin", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "B1"}}}
        if limit:
            body["Limit"] = limit
        page_all(c, body)
        page_all(c, dict(body, ScanIndexForward=False, ProjectionExpression="v, sk"))
    c.ddb("Query", {"TableName": "bin", "KeyConditionExpression": "pk = :p AND sk > :b", "ExpressionAttributeValues": {":p": {"S": "B1"}, ":b": {"B": "AAE="}}})
    # the legacy parameters
    c.ddb("Query", {"TableName": "t", "KeyConditions": {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "P#1"}]},
                                                        "sk": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [{"S": "J"}]}},
                    "QueryFilter": {"author": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "client"}]}}})
    c.ddb("Query", {"TableName": "t", "KeyConditions": {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "P#2"}]}},
                    "AttributesToGet": ["pk", "sk", "m"], "Limit": 4})
    c.ddb("Query", {"TableName": "hash", "KeyConditionExpression": "id = :i", "ExpressionAttributeValues": {":i": {"S": "h003"}}})
    return n


def reads(c):
    for body in ({"TableName": "t"}, {"TableName": "t", "Limit": 17}, {"TableName": "t", "FilterExpression": "who = :w", "ExpressionAttributeValues": {":w": {"S": "c1"}}, "ProjectionExpression": "pk, sk, who, m.inner"},
                 {"TableName": "t", "IndexName": "all"}, {"TableName": "hash", "Segment": 1, "TotalSegments": 3}, {"TableName": "num", "Select": "COUNT"},
                 {"TableName": "bin"}, {"TableName": "t", "IndexName": "keys", "Limit": 5}):
        page_all(c, dict(body, _op="Scan"))
    for pk, sk in (("P#C#big", "JOURNAL#000007"), ("P#C#big", "JOURNAL#999999"), ("BIG", "B#003")):
        for proj in (None, "pk, sk", "objectKeys, title, nope", "body"):
            body = {"TableName": "t", "Key": {"pk": {"S": pk}, "sk": {"S": sk}}, "ReturnConsumedCapacity": "TOTAL"}
            if proj:
                body["ProjectionExpression"] = proj
            c.ddb("GetItem", body)
    keys = [{"pk": {"S": "P#C#big"}, "sk": {"S": f"JOURNAL#{i:06d}"}} for i in range(0, 1000, 16)]
    c.ddb("BatchGetItem", {"RequestItems": {"t": {"Keys": keys, "ConsistentRead": True, "ProjectionExpression": "#pk, #sk", "ExpressionAttributeNames": {"#pk": "pk", "#sk": "sk"}}}})
    c.ddb("BatchGetItem", {"RequestItems": {"t": {"Keys": keys[:10]}, "hash": {"Keys": [{"id": {"S": "h001"}}, {"id": {"S": "nope"}}]}}})


def writes(c):
    big = "P#C#big"
    # conditional puts, with the old item returned on failure
    c.ddb("PutItem", {"TableName": "t", "Item": rand_item(big, {"S": "JOURNAL#000003"}), "ConditionExpression": "attribute_not_exists(pk)", "ReturnValuesOnConditionCheckFailure": "ALL_OLD"})
    c.ddb("PutItem", {"TableName": "t", "Item": rand_item("P#new", {"S": "X#1"}), "ConditionExpression": "attribute_not_exists(pk)"})
    c.ddb("PutItem", {"TableName": "t", "Item": rand_item("P#new", {"S": "X#1"}), "ReturnValues": "ALL_OLD"})
    # updates
    for rv in ("ALL_NEW", "UPDATED_OLD", "UPDATED_NEW", "ALL_OLD", "NONE"):
        c.ddb("UpdateItem", {"TableName": "t", "Key": {"pk": {"S": "P#new"}, "sk": {"S": "X#1"}}, "ReturnValues": rv,
                             "UpdateExpression": "SET who = :w, m.a = :a, l[0] = :v ADD n :one REMOVE extra0",
                             "ExpressionAttributeValues": {":w": {"S": "p9"}, ":a": {"M": {"deep": {"L": [{"B": "AAEC"}, {"NS": ["1", "2"]}]}}}, ":v": rand_value(), ":one": {"N": "1"}}})
    c.ddb("UpdateItem", {"TableName": "t", "Key": {"pk": {"S": big}, "sk": {"S": "JOURNAL#000004"}}, "UpdateExpression": "SET authorRole = :r",
                         "ConditionExpression": "authorId = :nobody", "ExpressionAttributeValues": {":r": {"S": "x"}, ":nobody": {"S": "nobody"}}, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"})
    # deletes: returned values, failed conditions, items that are not there
    c.ddb("DeleteItem", {"TableName": "t", "Key": {"pk": {"S": big}, "sk": {"S": "JOURNAL#000005"}}, "ReturnValues": "ALL_OLD"})
    c.ddb("DeleteItem", {"TableName": "t", "Key": {"pk": {"S": big}, "sk": {"S": "JOURNAL#000005"}}, "ReturnValues": "ALL_OLD"})
    c.ddb("DeleteItem", {"TableName": "t", "Key": {"pk": {"S": big}, "sk": {"S": "JOURNAL#000006"}}, "ConditionExpression": "authorRole = :x",
                         "ExpressionAttributeValues": {":x": {"S": "nobody"}}, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"})
    c.ddb("DeleteItem", {"TableName": "t", "Key": {"pk": {"S": big}}})
    # batch deletes, as the purge makes them, with items that are gone
    for start in range(10, 1000, 25 * 3):
        reqs = [{"DeleteRequest": {"Key": {"pk": {"S": big}, "sk": {"S": f"JOURNAL#{i:06d}"}}}} for i in range(start, start + 25)]
        c.ddb("BatchWriteItem", {"RequestItems": {"t": reqs}})
    c.ddb("BatchWriteItem", {"RequestItems": {"t": [{"DeleteRequest": {"Key": {"pk": {"S": big}, "sk": {"S": "JOURNAL#000001"}}}}] * 2}})
    c.ddb("BatchWriteItem", {"RequestItems": {"t": [{"PutRequest": {"Item": rand_item("P#b", {"S": f"Y#{i}"})}} for i in range(5)]
                                              + [{"DeleteRequest": {"Key": {"pk": {"S": "P#1"}, "sk": {"S": "nope"}}}}],
                                              "hash": [{"DeleteRequest": {"Key": {"id": {"S": "h002"}}}}]}, "ReturnConsumedCapacity": "TOTAL"})
    c.ddb("TransactWriteItems", {"TransactItems": [
        {"Put": {"TableName": "t", "Item": rand_item("P#tx", {"S": "T#1"}), "ConditionExpression": "attribute_not_exists(pk)"}},
        {"Delete": {"TableName": "t", "Key": {"pk": {"S": big}, "sk": {"S": "JOURNAL#000008"}}}},
        {"Update": {"TableName": "t", "Key": {"pk": {"S": big}, "sk": {"S": "JOURNAL#000009"}}, "UpdateExpression": "SET title = :t", "ExpressionAttributeValues": {":t": {"S": "T"}}}}]})
    c.ddb("TransactWriteItems", {"TransactItems": [
        {"ConditionCheck": {"TableName": "t", "Key": {"pk": {"S": big}, "sk": {"S": "JOURNAL#000009"}}, "ConditionExpression": "title = :no", "ExpressionAttributeValues": {":no": {"S": "no"}}}},
        {"Delete": {"TableName": "t", "Key": {"pk": {"S": big}, "sk": {"S": "JOURNAL#000011"}}}}]})
    # a partition read, changed, read again: nothing of one read may outlive
    # a change (new, overwritten, updated and deleted items; the partition
    # emptied and refilled)
    read = {"TableName": "t", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "P#again"}}, "ProjectionExpression": "sk, who"}
    for i in (1, 3, 5, 7):
        c.ddb("PutItem", {"TableName": "t", "Item": rand_item("P#again", {"S": f"a{i}"})})
    c.ddb("Query", read)
    changes = [("PutItem", {"TableName": "t", "Item": rand_item("P#again", {"S": "a4"})}),
               ("DeleteItem", {"TableName": "t", "Key": {"pk": {"S": "P#again"}, "sk": {"S": "a3"}}}),
               ("PutItem", {"TableName": "t", "Item": rand_item("P#again", {"S": "a5"})}),
               ("UpdateItem", {"TableName": "t", "Key": {"pk": {"S": "P#again"}, "sk": {"S": "a7"}}, "UpdateExpression": "SET who = :w", "ExpressionAttributeValues": {":w": {"S": "new"}}}),
               ("BatchWriteItem", {"RequestItems": {"t": [{"DeleteRequest": {"Key": {"pk": {"S": "P#again"}, "sk": {"S": f"a{i}"}}}} for i in (1, 4, 5, 7)]}}),
               ("PutItem", {"TableName": "t", "Item": rand_item("P#again", {"S": "a2"})})]
    for op, body in changes:
        c.ddb(op, body)
        c.ddb("Query", read)
        c.ddb("Query", dict(read, ScanIndexForward=False, ExclusiveStartKey={"pk": {"S": "P#again"}, "sk": {"S": "a6"}}))
    # the 400 KB item limit (moto's is 405,000 bytes), a few bytes either side
    for j in range(-3, 4):
        status, _ = c.ddb("PutItem", {"TableName": "t", "Item": sized_item("P#limit", f"l{j}", 405000 + j)})
        c.expect((status == 200) == (j <= 0), f"an item of 405000{j:+d} bytes: status {status}")
    c.ddb("Query", {"TableName": "t", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "P#limit"}}, "ProjectionExpression": "sk"})
    # the 400 KB item limit: just under, just over, over by a long attribute name
    c.ddb("PutItem", {"TableName": "t", "Item": {"pk": {"S": "P#size"}, "sk": {"S": "s1"}, "a": {"S": "y" * 200000}, "b": {"S": "y" * 204900}}})
    c.ddb("PutItem", {"TableName": "t", "Item": {"pk": {"S": "P#size"}, "sk": {"S": "s2"}, "a": {"S": "y" * 200000}, "b": {"S": "y" * 205100}}})
    c.ddb("PutItem", {"TableName": "t", "Item": {"pk": {"S": "P#size"}, "sk": {"S": "s3"}, "a": {"S": "é" * 150000}, "c": {"L": [{"S": "z" * 60000}, {"N": "1"}]}}})
    # a number with more digits than DynamoDB keeps: moto stores it, and
    # fails every projection of its item
    c.ddb("PutItem", {"TableName": "t", "Item": {"pk": {"S": "P#digits"}, "sk": {"S": "d1"}, "x": {"N": "1.0000000000000000000000000000000000000001"}, "y": {"S": "y"}}})
    c.ddb("Query", {"TableName": "t", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "P#digits"}}, "ProjectionExpression": "y"})
    c.ddb("Query", {"TableName": "t", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "P#digits"}}})
    # odd values on the wire
    c.ddb("PutItem", {"TableName": "t", "Item": {"pk": {"S": "P#odd"}, "sk": {"S": "o1"}, "e": {"S": ""}, "z": {"N": "0.0"}, "u": {"S": "\u2028\u00e9\ud83d\ude00"}, "nm": {"M": {}}, "nl": {"L": []}}})
    c.ddb("PutItem", {"TableName": "t", "Item": {"pk": {"S": "P#odd"}, "sk": {"S": "o2"}, "bad": {"N": "abc"}}})
    c.ddb("PutItem", {"TableName": "t", "Item": {"pk": {"S": "P#odd"}, "sk": {"S": "o3"}, "two": {"S": "a", "N": "1"}}})
    c.ddb("PutItem", {"TableName": "t", "Item": {"pk": {"S": "P#odd"}, "sk": {"S": "o4"}, "b": {"B": "not base64!"}}})
    c.ddb("Query", {"TableName": "t", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "P#odd"}}})
    c.ddb("Query", {"TableName": "t", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "P#odd"}}, "ProjectionExpression": "e, u, nm, two, b"})


def other_services(c):
    auth = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20250101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0"
    c.raw("s3 CreateBucket", "PUT", "/bucket-a", b"", {"Authorization": auth, "Host": "127.0.0.1"})
    c.raw("s3 PutObject", "PUT", "/bucket-a/k1", b"hello", {"Authorization": auth, "Host": "127.0.0.1"})
    c.raw("s3 GetObject", "GET", "/bucket-a/k1", b"", {"Authorization": auth, "Host": "127.0.0.1"})


def run(c):
    create_tables(c)
    seed(c)
    queries(c)
    reads(c)
    writes(c)
    # everything again after the writes, and the whole table
    queries(c)
    reads(c)
    other_services(c)
    model_data(c)


def model_data(c):
    """/moto-api/data.json lists every model object moto ever made (every
    item, copies and projections included); its DynamoDB part must match
    (the rest carries times and ids that differ between servers)."""
    answers = []
    for server in (c.plain, c.patched):
        status, _, body = server.request("GET", "/moto-api/data.json")
        answers.append((status, json.dumps(normalize_doc(json.loads(body)["dynamodb"])).encode()))
    c.count += 1
    if answers[0] != answers[1]:
        a, b = json.loads(answers[0][1]), json.loads(answers[1][1])
        for k in sorted(set(a) | set(b)):
            if a.get(k) != b.get(k):
                x, y = a.get(k) or [], b.get(k) or []
                print(f"  data.json dynamodb.{k}: {len(x)} vs {len(y)}; first difference at {next((i for i, (p, q) in enumerate(zip(x, y)) if p != q), min(len(x), len(y)))}", file=sys.stderr)
                if os.environ.get("DEBUG_DATA"):
                    json.dump([x, y], open(f"/tmp/data_{k}.json", "w"))
        c.failures.append(("model data", b"", answers[0], answers[1]))
        print(f"MISMATCH /moto-api/data.json dynamodb: moto {answers[0][1][:300]!r}\n  serve.py {answers[1][1][:300]!r}", file=sys.stderr)
    tracked = json.loads(answers[0][1]).get("Item", [])
    c.expect(len(tracked) > 1000, f"moto tracked {len(tracked)} items")
    # The launcher's filter (10.): one service's model, built as the whole
    # listing builds it, and nothing else.
    status, _, whole = c.patched.request("GET", "/moto-api/data.json")
    status2, _, part = c.patched.request("GET", "/moto-api/data.json?service=dynamodb&model=Item")
    c.count += 1
    part = json.loads(part)
    c.expect(status == status2 == 200 and list(part) == ["dynamodb"] and list(part["dynamodb"]) == ["Item"],
             f"filtered data.json answered {status2} with {sorted(part)}")
    c.expect(part.get("dynamodb", {}).get("Item") == json.loads(whole)["dynamodb"]["Item"],
             "filtered data.json's dynamodb.Item differs from the whole listing's")


if __name__ == "__main__":
    main()
