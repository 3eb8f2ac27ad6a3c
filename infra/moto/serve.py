"""Runs the moto server (the local AWS emulator) with two fixes, some
speed-ups, and a filter on its state listing.

The speed-ups change no answer: every response (status, headers but the
date and request id, body) is byte for byte what moto gives without them;
infra/moto/test_serve.py (`make emulator-check`, part of `make test`) sends
the same requests to both and compares. They apply to moto 5.2.5 (the
version infra/requirements/moto.txt pins; another version gets the two fixes
only), and each is a cheaper way to compute exactly what moto computes:
where a value is not of the plain shape a fast path expects, moto's own code
handles it.

1. One request at a time. moto's server is threaded but its backends take
no locks, so two concurrent conditional writes can both pass their
condition; DynamoDB makes each request atomic. Here every request runs
under one lock (connections are still served by threads), which gives the
atomicity the service relies on (20 concurrent POSTs make one request).

2. A Query reads only its partition.

moto answers a DynamoDB Query on the base table by sorting every item of
the table and then keeping those of the queried partition, so each Query
costs time in proportion to the whole table. DynamoDB reads only the
partition. This launcher makes moto's candidate list for a base-table Query
the partition's own items; what moto then does with them (the sort by range
key, key conditions, filters, projections, paging, the 1 MB limit) is
unchanged, so every answer is the same, only sooner.

The speed-ups. moto spends far more time per item than DynamoDB does (about
0.4 ms per item a Query returns, most of it in generic code that walks the
AWS service model, and in copies), which makes a comparison of a batched
purge with a per-item baseline mostly a measure of the emulator.

3. Sorting. The partition's items come already in range-key order (the
order of the last partition sorted is kept while that partition holds the
same item objects, as when a client pages through it), and when the Query
has an ExclusiveStartKey, without those moto would skip before it (moto
tests them one by one; its test holds for a run at one end of the sorted
items, which a binary search with the same test finds). The sorts moto makes
of a whole table (Scan, index queries) and of an index's items compare the
keys' cast values rather than DynamoType objects, which orders them the same
way when a key column holds one type; otherwise moto's sort runs. For the
types whose cast value is the value itself (S, B, BOOL), DynamoType's
cast_value, ==, !=, < and hash use the value without testing the other
types first.

4. Responses and requests. moto turns a DynamoDB result into JSON by walking
the botocore output shape member by member, looking each member up under
several alias names: a dozen lookups per attribute. For the AttributeValue
and AttributeMap shapes (items, keys) the launcher builds the same JSON
directly: one key per value (S, N, B, SS, NS, BS, M, L, NULL, BOOL), binary
base64-encoded as moto encodes it, None members and entries dropped as moto
drops them. It converts DynamoType values to plain dicts (dynamo_to_dict)
without moto's generic type probing for strings, numbers, dicts and lists.
Requests are the mirror image: an AttributeValue {"S": ...} or {"N": ...} is
parsed as the generic parser parses it, without walking the shape; and the
keys of a BatchWriteItem are written out for its duplicate check with the
plain JSON encoder (moto's encoder differs only for values plain JSON cannot
encode, which still go to it).

5. Items. moto checks an item's 400 KB limit after each attribute it adds,
summing the sizes of all the attributes so far (quadratic in the number of
attributes); the launcher keeps the running sum, which raises the same error
at the same attribute. Item sizes (that limit, a Query's 1 MB page) count a
string's UTF-8 bytes directly, and a Query, which asks each candidate's size
twice, computes it once.

6. Projections. moto projects an item by converting the whole item to Python
values once per projected path (boto3's TypeDeserializer), picking the path,
and converting back. The launcher converts only the attribute each path
starts with, still once per path, so that paths share no state; strings need
no conversion (they come back unchanged), so an item of strings projected on
attribute names is copied directly. The other attributes are still converted
once, so an attribute moto would fail to convert fails the request the same
way.

7. A Query's results. moto deep-copies every item a Query returns before it
filters and projects them. Nothing in the request changes them (filters only
read, a projection builds new items, the response is built from new dicts)
and requests run one at a time (1.), so the launcher skips that copy. (moto
records every model object it creates, and /moto-api/data.json lists them;
the items take their copies' places in that record.)

8. Routing. For every request moto lists its own package directory (and
stats every entry) to find the service, and lists the handler class's
methods with inspect; both answers are the same for every request, so the
launcher computes each once.

9. Garbage collection. moto keeps each item as a dozen Python objects (and
every item it ever made, copies and projections included, for
/moto-api/data.json), and each full pass of the cyclic garbage collector
walks all of them; a Query page allocates enough to trigger collections that
promote its temporaries and so, in time, full passes. The launcher collects
the youngest generation after 100,000 allocations rather than 700.
Reference counting still frees what each request leaves, and the collector
still runs.

10. The state listing, filtered. /moto-api/data.json?service=ses&model=
RawMessage lists only that model's objects (the sent email the tests and
the local console read), built as moto builds the whole listing, which by
the end of a test run takes moto seconds; see the code below. Without the
parameters the answer is moto's own.

Slow requests: every request that waited for the lock or was served for
more than RTBF_MOTO_SLOW_SECONDS (default 1) is written to stderr as an
"rtbf-slow" line with its operation and both times.

Profiling: with RTBF_MOTO_PROFILE=<directory>, the server profiles every
request (cProfile, one profile per operation) and, when it stops, writes
<operation>.prof and ops.txt (calls and seconds per operation) there. With
RTBF_MOTO_STATS=<file> it counts how often each fast path served and writes
the counts (JSON) to that file when it stops.

Usage: python serve.py [moto_server arguments...]
"""

import atexit
import base64
import copy
import cProfile
import gc
import json
import os
import re
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

import moto
import moto.backends as moto_backends
import moto.core.model_instances as model_instances
import moto.core.responses as core_responses
import moto.core.serialize as core_serialize
import moto.core.parse as core_parse
import moto.dynamodb.models.dynamo_type as dynamo_type
import moto.dynamodb.models.table as table_module
import moto.dynamodb.models.utilities as ddb_utilities
import moto.dynamodb.responses as ddb_responses
import moto.moto_api._internal.responses as moto_api_responses
import moto.server as moto_server
from botocore.utils import merge_dicts
from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.table import Table
from moto.dynamodb.models.utilities import bytesize, find_nested_key

# The speed-ups reproduce what this version's code computes; another version
# gets fixes 1 and 2 only, and so does RTBF_MOTO_SPEEDUPS=0 (to measure
# what they save).
_FAST = moto.__version__ == "5.2.5" and os.environ.get("RTBF_MOTO_SPEEDUPS", "1") != "0"

# With RTBF_MOTO_STATS=<file>, how often each fast path served, written to
# that file (JSON) when the server stops; test_serve.py checks them.
_stats = {} if os.environ.get("RTBF_MOTO_STATS") else None


def _hit(name):
    _stats[name] = _stats.get(name, 0) + 1


def _dump_stats():
    with open(os.environ["RTBF_MOTO_STATS"], "w") as f:
        json.dump(_stats, f, sort_keys=True)


if _stats is not None:
    atexit.register(_dump_stats)

# ---- 2. A Query reads only its partition; 3. sorting; 7. no copy ----

_query_state = threading.local()
_all_items = Table.all_items
_query = Table.query


def _range_order(item):
    # DynamoType.__lt__ compares cast_value: sorting by it orders items as
    # moto's sort (key=range_key) does.
    return item.range_key.cast_value


def all_items(self):
    hash_key = getattr(_query_state, "hash_key", None)
    if hash_key is not None and self.range_key_attr:
        if not _FAST:
            return list(self.items.get(hash_key, {}).values())
        if _stats is not None:
            _hit("partition")
        items = _sorted_partition(self.items.get(hash_key, {}))
        start_key = _query_state.exclusive_start_key
        if start_key is not None and items:
            items = _after_start_key(self, items, start_key, _query_state.scan_index_forward)
        return items
    if _FAST:
        return _all_items_sorted(self)
    return _all_items(self)


def _cast_keys(rows):
    """The cast values of rows of DynamoTypes (one row per item), as tuples,
    when every column holds one type (S, N or B) with one Python type of
    cast value: then comparing these tuples orders items exactly as
    comparing tuples of the DynamoTypes does (DynamoType's == compares type
    and cast value, its < the cast values). Otherwise None."""
    if not rows:
        return []
    first = rows[0]
    kinds = [(v.type, type(v.cast_value)) for v in first]
    if any(k not in ("S", "N", "B") for k, _ in kinds):
        return None
    keys = []
    for row in rows:
        key = []
        for v, (kind, ctype) in zip(row, kinds):
            c = v.cast_value
            if v.type != kind or type(c) is not ctype:
                return None
            key.append(c)
        keys.append(tuple(key))
    return keys


def _all_items_sorted(self):
    """Table.all_items: every item, in (hash key, range key) order."""
    items = []
    for hash_set in self.items.values():
        if self.range_key_attr:
            items.extend(hash_set.values())
        else:
            items.append(hash_set)
    if self.range_key_attr:
        rows = [(x.hash_key, x.range_key) if x.range_key else None for x in items]
    else:
        rows = [(x.hash_key,) for x in items]
    keys = None if None in rows else _cast_keys(rows)
    if keys is None:
        return _all_items(self)
    if _stats is not None:
        _hit("sort")
    return [items[i] for i in sorted(range(len(items)), key=keys.__getitem__)]


_sorted_items = Table.sorted_items


def sorted_items(self, hash_key_attrs, range_key_attrs, items):
    """Table.sorted_items (an index's order), comparing cast values."""
    attrs = self._generate_attr_to_sort_by(hash_key_attrs, range_key_attrs)
    keys = _cast_keys([[x.attrs[a] for a in attrs] for x in items])
    if keys is None:
        return _sorted_items(self, hash_key_attrs, range_key_attrs, items)
    if _stats is not None:
        _hit("sort")
    items[:] = [items[i] for i in sorted(range(len(items)), key=keys.__getitem__)]
    return items


# The last partition sorted: the partition (a dict), the ids of its items in
# dict order, and the items in range-key order. While the dict holds the same
# item objects, in the same order, their order is the same (an item's range
# key never changes), as when a client pages through a partition. The entry
# keeps the objects alive, so that no other object can take one of the ids.
_last_sorted = [None, None, None]


def _sorted_partition(partition):
    ids = list(map(id, partition.values()))
    if _last_sorted[0] is partition and _last_sorted[1] == ids:
        if _stats is not None:
            _hit("sorted_again")
        return list(_last_sorted[2])
    items = sorted(partition.values(), key=_range_order)
    _last_sorted[0], _last_sorted[1], _last_sorted[2] = partition, ids, items
    return list(items)


def _after_start_key(self, items, start_key, forward):
    """items (in range-key order) without those Table.query would skip as
    coming before the exclusive start key: its skip test holds for a prefix
    of the items in query order (a suffix of these when reading backwards),
    so a binary search with the same test finds where that run ends."""
    if _stats is not None:
        _hit("start_key")
    before = self._item_comes_before_dct
    hash_attrs, range_attrs = [self.hash_key_attr], [self.range_key_attr]

    def skipped(item):
        return before(item, start_key, hash_attrs, range_attrs, forward)

    lo, hi = 0, len(items)
    if forward:
        while lo < hi:  # first item not skipped
            mid = (lo + hi) // 2
            if skipped(items[mid]):
                lo = mid + 1
            else:
                hi = mid
        return items[lo:]
    while lo < hi:  # first item skipped
        mid = (lo + hi) // 2
        if skipped(items[mid]):
            hi = mid
        else:
            lo = mid + 1
    return items[:lo]


def query(self, hash_key, *args, **kwargs):
    index_name = kwargs.get("index_name") if "index_name" in kwargs else (args[6] if len(args) > 6 else None)
    _query_state.in_query = True
    _query_state.sizes = {} if _FAST else None
    try:
        if index_name is not None or hash_key is None:
            return _query(self, hash_key, *args, **kwargs)
        _query_state.hash_key = hash_key
        # Table.query(hash_key, range_comparison, range_objs, limit,
        # exclusive_start_key, scan_index_forward, ...), as the backend calls it
        _query_state.exclusive_start_key = args[3] if _FAST and len(args) > 4 else None
        _query_state.scan_index_forward = args[4] if len(args) > 4 else True
        try:
            return _query(self, hash_key, *args, **kwargs)
        finally:
            _query_state.hash_key = None
    finally:
        _query_state.in_query = False
        _query_state.sizes = None


class _TableCopy:
    """The `copy` module as table.py sees it: during a Query, the copy of
    the results list (the only deepcopy Table.query makes) is a shallow one.

    moto records every model object it ever creates (BaseModel.__new__
    appends it to its class's instances_tracked, which /moto-api/data.json
    lists); the copies would have been recorded, so the items stand in for
    them there, in the same order (both show as the same JSON: an item's
    public attributes other than range_key do not serialise, and items never
    change their range key)."""

    def __getattr__(self, name):
        return getattr(copy, name)

    @staticmethod
    def deepcopy(x, memo=None):
        if type(x) is list and getattr(_query_state, "in_query", False) and all(type(i) is Item for i in x):
            if _stats is not None:
                _hit("results_copy")
            # one copy per distinct item, as deepcopy's memo makes (an item
            # can be in the results twice)
            Item.instances_tracked.extend({id(i): i for i in x}.values())
            return list(x)
        return copy.deepcopy(x, memo)


Table.all_items = all_items
Table.query = query
if _FAST:
    table_module.copy = _TableCopy()
    Table.sorted_items = sorted_items

# ---- 4. Responses and requests: AttributeValue without the shape walk ----

# The AttributeValue shape as this launcher expects it: member, type, and
# for lists and maps the type of their members. Checked once against the
# service model; if it differs, the generic code runs.
_AV_MEMBERS = {
    "S": ("string", None), "N": ("string", None), "B": ("blob", None),
    "SS": ("list", "string"), "NS": ("list", "string"), "BS": ("list", "blob"),
    "M": ("map", "AttributeValue"), "L": ("list", "AttributeValue"),
    "NULL": ("boolean", None), "BOOL": ("boolean", None),
}
_av_ok = None
_MISSING = object()


def _dynamodb_av_ok(service_model):
    """Whether DynamoDB's AttributeValue and AttributeMap shapes are the ones
    the fast paths assume (checked once)."""
    global _av_ok
    if _av_ok is None:
        try:
            shape = service_model.shape_for("AttributeValue")
            members = shape.members
            ok = shape.type_name == "structure" and not shape.is_document_type and list(members) == list(_AV_MEMBERS)
            for name, m in members.items() if ok else ():
                kind, inner = _AV_MEMBERS[name]
                ok = ok and m.type_name == kind and m.serialization.get("name", name) == name
                if kind == "list":
                    ok = ok and m.member.type_name == ("structure" if inner == "AttributeValue" else inner)
                    ok = ok and m.member.name.endswith("AttributeValue") and not m.member.serialization.get("name")
                elif kind == "map":
                    ok = ok and m.key.type_name == "string" and m.value.name == inner
            attribute_map = service_model.shape_for("AttributeMap")
            ok = ok and attribute_map.type_name == "map" and attribute_map.value.name == "AttributeValue"
        except Exception:
            ok = False
        _av_ok = ok
    return _av_ok


def _b64(value):
    # ResponseSerializer._base64
    if isinstance(value, str):
        value = value.encode("utf-8")
    return base64.b64encode(value).strip().decode("utf-8")


def _av_json(value):
    """What moto's JSON serializer makes of one AttributeValue (a dict from
    dynamo_to_dict), or _MISSING when value is not of a plain shape."""
    if type(value) is not dict or len(value) != 1:
        return _MISSING
    for kind, v in value.items():
        pass
    tv = type(v)
    if kind == "S" or kind == "N":
        if tv is str:
            return {kind: v}
    elif kind == "M":
        j = _attribute_map_json(v)
        if j is not _MISSING:
            return {"M": j}
    elif kind == "L":
        if tv is list:
            out = []
            for sub in v:
                if sub is None:
                    out.append(None)
                    continue
                j = _av_json(sub)
                if j is _MISSING:
                    return _MISSING
                out.append(j)
            return {"L": out}
    elif kind == "SS" or kind == "NS":
        if tv is list and all(type(e) is str for e in v):
            return {kind: list(v)}
    elif kind == "B":
        if tv is bytes or tv is str:
            return {"B": _b64(v)}
    elif kind == "BS":
        if tv is list and all(type(e) is bytes or type(e) is str for e in v):
            return {"BS": [_b64(e) for e in v]}
    elif kind == "NULL" or kind == "BOOL":
        if v is not None:
            return {kind: v}
    return _MISSING


_generic_serialize = core_serialize.ResponseSerializer._serialize


def _serialize(self, serialized, value, shape, key):
    name = shape.name
    if (name == "AttributeValue" or name == "AttributeMap") and key and self._fast_av():
        if name == "AttributeValue":
            if value is None:  # _serialize_type_structure sets nothing
                return
            j = _av_json(value)
        else:
            j = _attribute_map_json(value)
        if j is not _MISSING:
            if _stats is not None:
                _hit("serialize")
            serialized[self.get_serialized_name(shape, key)] = j
            return
    _generic_serialize(self, serialized, value, shape, key)


def _attribute_map_json(value):
    if type(value) is not dict:
        return _MISSING
    out = {}
    for k, sub in value.items():
        if sub is None:
            continue
        if type(k) is not str or not k:
            return _MISSING
        j = _av_json(sub)
        if j is _MISSING:
            return _MISSING
        out[k] = j
    return out


def _fast_av(self):
    ok = self.__dict__.get("_rtbf_fast_av")
    if ok is None:
        ok = False
        if self.service_model.service_name == "dynamodb" and not getattr(self._value_picker, "response_transformers", None):
            ok = _dynamodb_av_ok(self.service_model)
        self.__dict__["_rtbf_fast_av"] = ok
    return ok


_generic_parse_structure = core_parse.BaseJSONParser._parse_structure


def _parse_structure(self, shape, value):
    if shape.name == "AttributeValue" and type(value) is dict and len(value) == 1 and self.MAP_TYPE is dict:
        for kind, v in value.items():
            pass
        service_model = self.operation_model.service_model
        if (kind == "S" or kind == "N") and v is not None and service_model.service_name == "dynamodb" and _dynamodb_av_ok(service_model):
            # the one member, which _parse_shape leaves as it is (_default_handle)
            if _stats is not None:
                _hit("parse")
            return {kind: v}
    return _generic_parse_structure(self, shape, value)


_dynamo_json_dump = ddb_utilities.dynamo_json_dump
_plain_dumps = json.JSONEncoder().encode


def dynamo_json_dump(dynamo_object):
    """json.dumps with DynamoJsonEncoder, whose default() only matters for
    what plain JSON cannot encode (bytes, DynamoType, datetime)."""
    try:
        return _plain_dumps(dynamo_object)
    except TypeError:
        return _dynamo_json_dump(dynamo_object)


_generic_dynamo_to_dict = ddb_utilities.dynamo_to_dict


def dynamo_to_dict(obj):
    t = type(obj)
    if t is DynamoType:
        kind, v = obj.type, obj.value
        if type(v) is str and kind != "B":
            if _stats is not None:
                _hit("dynamo_to_dict")
            return {kind: v}
    elif t is LimitedSizeDict or t is dict:
        return {k: dynamo_to_dict(v) for k, v in obj.items()}
    elif t is list:
        return [dynamo_to_dict(v) for v in obj]
    elif t is str or t is int or t is bool or obj is None:
        return obj
    return _generic_dynamo_to_dict(obj)


if _FAST:
    core_serialize.BaseJSONSerializer._serialize = _serialize
    core_serialize.BaseJSONSerializer._fast_av = _fast_av
    core_parse.JSONParser._parse_structure = _parse_structure
    ddb_responses.dynamo_json_dump = dynamo_json_dump
    ddb_utilities.dynamo_to_dict = dynamo_to_dict
    ddb_responses.dynamo_to_dict = dynamo_to_dict

# ---- 5. Items: sizes, and the 400 KB check in one pass ----


def _utf8_len(s):
    # len(s.encode("utf-8")); an ASCII string (which CPython knows without
    # looking) has one byte per character
    return len(s) if s.isascii() else len(s.encode("utf-8"))


def _size(value):
    """DynamoType.size, with strings counted directly."""
    if value.type == "S":
        v = value.value
        if type(v) is str:
            return _utf8_len(v)
    return value.size()


def item_size(self):
    # Table.query asks each candidate's size twice; within one Query nothing
    # changes an item, so the first answer is kept (with the item, so that
    # its id stays its own).
    sizes = _query_state.__dict__.get("sizes")
    if sizes is not None:
        known = sizes.get(id(self))
        if known is not None:
            return known[1]
    if _stats is not None:
        _hit("item_size")
    total = 0
    for k, v in self.attrs.items():
        total += (_utf8_len(k) if type(k) is str else bytesize(k)) + _size(v)
    if sizes is not None:
        sizes[id(self)] = (self, total)
    return total


_cast_value = DynamoType.cast_value.fget
# the types whose cast_value is the value itself
_PLAIN = frozenset(("S", "B", "BOOL"))


def cast_value(self):
    # DynamoType.cast_value returns the value itself for these types, after
    # ruling out numbers, sets, lists, maps and NULL one by one.
    if self.type in _PLAIN:
        if _stats is not None:
            _stats["cast_value"] = 1
        return self.value
    return _cast_value(self)


# DynamoType's comparisons compare types (==, !=) and cast values; for the
# plain types, the values.
_eq, _ne, _lt, _hash = DynamoType.__eq__, DynamoType.__ne__, DynamoType.__lt__, DynamoType.__hash__


def dynamo_eq(self, other):
    t = self.type
    if t in _PLAIN:
        return t == other.type and self.value == other.value
    return _eq(self, other)


def dynamo_ne(self, other):
    t = self.type
    if t in _PLAIN:
        return t != other.type or self.value != other.value
    return _ne(self, other)


def dynamo_lt(self, other):
    if self.type in _PLAIN and other.type in _PLAIN:
        return self.value < other.value
    return _lt(self, other)


def dynamo_hash(self):
    t = self.type
    if t in _PLAIN:
        return hash((t, self.value))
    return _hash(self)


_item_init = Item.__init__
_new_dynamo_type = object.__new__


def _string(value):
    # DynamoType({"S": value}), without its type probing
    v = _new_dynamo_type(DynamoType)
    v.type = "S"
    v.value = value
    return v


def item_init(self, hash_key, range_key, attrs):
    if not all(type(k) is str for k in attrs):
        return _item_init(self, hash_key, range_key, attrs)
    if _stats is not None:
        _hit("item_init")
    self.hash_key = hash_key
    self.range_key = range_key
    self.attrs = LimitedSizeDict()
    # LimitedSizeDict.__setitem__ raises when the attributes so far and the
    # new one exceed 405000 bytes; the running total is that sum.
    total = 0
    for key, value in attrs.items():
        if type(value) is dict and len(value) == 1 and type(value.get("S")) is str:
            v = _string(value["S"])
        else:
            v = DynamoType(value)
        total += _utf8_len(key) + _size(v)
        if total > 405000:
            raise ItemSizeTooLarge
        dict.__setitem__(self.attrs, key, v)


# ---- 6. Projections: convert only the projected attribute ----

_deserializer = dynamo_type.deserializer
_serializer = dynamo_type.serializer
_LIST_PATH = re.compile(r"(.+)\[(\d+)\]$")  # find_nested_key's


def _plain_string(attr):
    return attr.type == "S" and type(attr.value) is str


def _to_python(attr):
    # Item.to_regular_json for one attribute
    if _plain_string(attr):
        return attr.value
    return _deserializer.deserialize(attr.to_regular_json())


_plan = [None, None, None]


def _projection_plan(projection_expressions):
    """For each path: the path, the attribute it starts with (as
    find_nested_key reads it) and whether it is that attribute alone; and
    when every path is an attribute alone, their names (each once)."""
    if _plan[0] is not projection_expressions:
        plan = []
        for expr in projection_expressions:
            m = _LIST_PATH.match(expr[0])
            plan.append((expr, m.group(1) if m else expr[0], len(expr) == 1 and m is None))
        names = None
        if all(alone and type(name) is str for _, name, alone in plan):
            names = list(dict.fromkeys(name for _, name, _ in plan))
        # the list is kept, so that no other list can have its id
        _plan[0], _plan[1], _plan[2] = projection_expressions, plan, names
    return _plan[1], _plan[2]


def _project_strings(self, names):
    """item_project when every path is an attribute name and every attribute
    a string: the general path below, without its conversions (a string
    converts to itself and back to {"S": string}), and Item() with
    item_init's fast path inlined."""
    attrs = self.attrs
    item = Item.__new__(Item)  # BaseModel.__new__ records it, as Item() does
    item.hash_key = self.hash_key
    item.range_key = self.range_key
    item.attrs = projected = LimitedSizeDict()
    total = 0
    for name in names:
        attr = attrs.get(name)
        if attr is None:
            continue
        value = attr.value
        total += _utf8_len(name) + _utf8_len(value)
        if total > 405000:
            raise ItemSizeTooLarge
        dict.__setitem__(projected, name, _string(value))
    return item


def item_project(self, projection_expressions):
    if _stats is not None:
        _hit("project")
    attrs = self.attrs
    plan, names = _projection_plan(projection_expressions)
    if names is not None:
        for attr in attrs.values():
            if attr.type != "S" or type(attr.value) is not str:
                break
        else:
            if _stats is not None:
                _hit("project_strings")
            return _project_strings(self, names)
    # Item.to_regular_json converts every attribute; one that fails to
    # convert fails the projection, as it does in moto. Each conversion
    # serves (at most) one path.
    converted = {}
    for name, attr in attrs.items():
        if not _plain_string(attr):
            converted[name] = _deserializer.deserialize(attr.to_regular_json())
    result = {}
    for expr, name, alone in plan:
        # find_nested_key reads only the attribute the path starts with,
        # and finds nothing when it is not there.
        attr = attrs.get(name)
        if attr is None:
            continue
        value = converted.pop(name) if name in converted else _to_python(attr)
        if alone:
            # find_nested_key([name], ...) is {name: value}
            if name in result:
                merge_dicts(result, {name: value})
            else:
                result[name] = value
        else:
            merge_dicts(result, find_nested_key(expr, {name: value}))
    # serializer.serialize(result)["M"], with strings as {"S": ...}
    out = {k: ({"S": v} if type(v) is str else _serializer.serialize(v)) for k, v in result.items()}
    return Item(hash_key=self.hash_key, range_key=self.range_key, attrs=out)


if _FAST:
    Item.size = item_size
    DynamoType.cast_value = property(cast_value)
    DynamoType.__eq__ = dynamo_eq
    DynamoType.__ne__ = dynamo_ne
    DynamoType.__lt__ = dynamo_lt
    DynamoType.__hash__ = dynamo_hash
    Item.__init__ = item_init
    Item.project = item_project

# ---- 8. Routing, computed once ----

_list_of_moto_modules = moto_backends.list_of_moto_modules
_modules = None


def list_of_moto_modules():
    global _modules
    if _modules is None:
        _modules = list(_list_of_moto_modules())
    elif _stats is not None:
        _hit("routing")
    return iter(_modules)


_method_names = {}
_method_names_from_class = core_responses.method_names_from_class


def method_names_from_class(clazz):
    names = _method_names.get(clazz)
    if names is None:
        names = _method_names[clazz] = _method_names_from_class(clazz)
    return names


if _FAST:
    moto_backends.list_of_moto_modules = list_of_moto_modules
    core_responses.method_names_from_class = method_names_from_class

# ---- 9. Garbage collection, less often ----

if _FAST:
    _gc_thresholds = gc.get_threshold()
    gc.set_threshold(100_000, *_gc_thresholds[1:])

# ---- 10. /moto-api/data.json?service=...&model=... ----
#
# /moto-api/data.json lists every object of every model moto ever made, and
# moto never forgets one (every DynamoDB item, copies included), so through
# a test run it grows: by the end of `make test` one answer took moto 10-15
# seconds, and since requests are served one at a time (1.) every other
# caller waited those seconds too (a Lambda's 10 s timeout, a test's).
# The tests and the local console only want the sent email (ses
# RawMessage), so the launcher lets them ask for it: `service` and `model`
# (each may repeat) keep the listing to those. moto's own code builds it,
# from a register of models cut down to those for the call (requests run
# one at a time, 1., so no other request sees the cut one). Without either
# parameter the answer is moto's own. Another moto version ignores the
# parameters and answers the whole listing, which holds the same part, only
# slower. This is not a speed-up of an AWS answer, so RTBF_MOTO_SPEEDUPS=0
# keeps it.

_model_data = moto_api_responses.MotoAPIResponse.model_data


def model_data(self, request, full_url, headers):
    query = parse_qs(urlsplit(full_url).query)
    services, names = query.get("service"), query.get("model")
    if not services and not names:
        return _model_data(self, request, full_url, headers)
    tracked = model_instances.model_data
    model_instances.model_data = {
        service: {name: model for name, model in models.items() if not names or name in names}
        for service, models in tracked.items()
        if not services or service in services
    }
    try:
        return _model_data(self, request, full_url, headers)
    finally:
        model_instances.model_data = tracked


moto_api_responses.MotoAPIResponse.model_data = model_data

# ---- 1. One request at a time (and the profiler) ----

_profile_dir = os.environ.get("RTBF_MOTO_PROFILE")
_profiles = {}
_op_time = {}


def _profiled(app, environ, start_response):
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    op = target.rsplit(".", 1)[-1] if target else environ.get("REQUEST_METHOD", "") + "-S3"
    prof = _profiles.setdefault(op, cProfile.Profile())
    start = time.perf_counter()
    prof.enable()
    try:
        return list(app(environ, start_response))
    finally:
        prof.disable()
        n, s = _op_time.get(op, (0, 0.0))
        _op_time[op] = (n + 1, s + time.perf_counter() - start)


def _dump_profiles():
    os.makedirs(_profile_dir, exist_ok=True)
    with open(os.path.join(_profile_dir, "ops.txt"), "w") as f:
        for op, (n, s) in sorted(_op_time.items(), key=lambda kv: -kv[1][1]):
            f.write(f"{op} calls={n} seconds={s:.3f} ms_per_call={1000 * s / n:.3f}\n")
    for op, prof in _profiles.items():
        prof.dump_stats(os.path.join(_profile_dir, op + ".prof"))


if _profile_dir:
    atexit.register(_dump_profiles)

_one_at_a_time = threading.Lock()
_run_simple = moto_server.run_simple


# A request that waited for the lock or was served for longer than this is
# written to the server's log ("rtbf-slow ..."), so that a test that timed
# out waiting for the emulator can say what held it (with-emulator.sh
# prints these lines when its command fails).
_slow_seconds = float(os.environ.get("RTBF_MOTO_SLOW_SECONDS", "1"))


def _operation(environ):
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return target.rsplit(".", 1)[-1]
    return environ.get("REQUEST_METHOD", "") + " " + environ.get("PATH_INFO", "")[:120]


def run_simple(host, port, app, **kwargs):
    def serialized(environ, start_response):
        arrived = time.perf_counter()
        with _one_at_a_time:
            began = time.perf_counter()
            try:
                if _profile_dir:
                    return _profiled(app, environ, start_response)
                return list(app(environ, start_response))
            finally:
                done = time.perf_counter()
                if done - arrived > _slow_seconds:
                    sys.stderr.write(
                        f"rtbf-slow at={time.strftime('%H:%M:%S')} op={_operation(environ)} "
                        f"waited={began - arrived:.3f}s served={done - began:.3f}s\n"
                    )
                    sys.stderr.flush()

    return _run_simple(host, port, serialized, **kwargs)


moto_server.run_simple = run_simple

if __name__ == "__main__":
    moto_server.main()
