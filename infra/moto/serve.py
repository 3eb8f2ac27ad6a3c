"""Runs the moto server (the local AWS emulator) with two fixes.

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
unchanged, so every answer is the same, only sooner. Queries on an index,
and everything else, are untouched.

Usage: python serve.py [moto_server arguments...]
"""

import threading

import moto.server as moto_server
from moto.dynamodb.models.table import Table

_partition = threading.local()
_all_items = Table.all_items
_query = Table.query


def all_items(self):
    hash_key = getattr(_partition, "hash_key", None)
    if hash_key is not None and self.range_key_attr:
        return list(self.items.get(hash_key, {}).values())
    return _all_items(self)


def query(self, hash_key, *args, **kwargs):
    index_name = kwargs.get("index_name") if "index_name" in kwargs else (args[6] if len(args) > 6 else None)
    if index_name is not None or hash_key is None:
        return _query(self, hash_key, *args, **kwargs)
    _partition.hash_key = hash_key
    try:
        return _query(self, hash_key, *args, **kwargs)
    finally:
        _partition.hash_key = None


Table.all_items = all_items
Table.query = query

_one_at_a_time = threading.Lock()
_run_simple = moto_server.run_simple


def run_simple(host, port, app, **kwargs):
    def serialized(environ, start_response):
        with _one_at_a_time:
            return list(app(environ, start_response))

    return _run_simple(host, port, serialized, **kwargs)


moto_server.run_simple = run_simple

if __name__ == "__main__":
    moto_server.main()
