"""The fake Letzshop server: executes the schema, pages with cursors, checks the key, injects faults."""
import httpx
import pytest

from imports.orders.letzshop.fake import FakeLetzshop, encode_cursor
from imports.orders.letzshop.query import SHIPMENTS_QUERY

KEY = "key-one"


def call(server, variables, key=KEY, query=SHIPMENTS_QUERY):
    return httpx.post(server.url, json={"query": query, "variables": variables},
                      headers={"Authorization": f"Bearer {key}"}, timeout=5)


def read_all(server, **variables):
    ids, after = [], None
    while True:
        data = call(server, {"first": 7, "after": after, **variables}).json()["data"]["shipments"]
        ids += [node["id"] for node in data["nodes"]]
        if not data["pageInfo"]["hasNextPage"]:
            return ids, data["totalCount"]
        after = data["pageInfo"]["endCursor"]


@pytest.fixture
def server():
    with FakeLetzshop(vendors={"v": KEY}, shipments=30) as fake:
        yield fake


def test_cursor_pages_cover_every_shipment_once_in_update_order(server):
    ids, total = read_all(server)
    assert total == 30
    assert ids == [f"v-S{n:07d}" for n in range(30)]


def test_updated_since_returns_only_later_shipments_and_counts_them(server):
    ids, total = read_all(server, updatedSince="2024-01-01T02:00:00+00:00")  # shipment n is updated at n*600+60 s
    assert ids == [f"v-S{n:07d}" for n in range(12, 30)]
    assert total == 18


def test_same_seed_same_shipments_other_seed_other_shipments():
    with FakeLetzshop(vendors={"v": KEY}, seed=1) as one, FakeLetzshop(vendors={"v": KEY}, seed=1) as two:
        assert call(one, {"first": 5}).json() == call(two, {"first": 5}).json()
    assert FakeLetzshop(vendors={"v": KEY}, seed=2).node("v", 3) != FakeLetzshop(vendors={"v": KEY}, seed=1).node("v", 3)


def test_queries_are_validated_against_the_schema(server):
    body = call(server, {}, query="{ shipments(first: 1) { nodes { id colour } } }").json()
    assert body["data"] is None
    assert "Cannot query field 'colour'" in body["errors"][0]["message"]
    too_many = call(server, {"first": 101}).json()
    assert "between 1 and 100" in too_many["errors"][0]["message"]


def test_unknown_key_gets_401_and_a_revoked_key_a_graphql_auth_error():
    with FakeLetzshop(vendors={"v": KEY}, revoked_keys={"old-key"}) as fake:
        assert call(fake, {"first": 1}, key="wrong").status_code == 401
        revoked = call(fake, {"first": 1}, key="old-key")
        assert revoked.status_code == 200
        assert revoked.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_scripted_faults_come_in_order_then_normal_answers(server):
    server.retry_after = 2
    server.script("429", "503", "graphql_error", "403")
    first = call(server, {"first": 1})
    assert (first.status_code, first.headers["Retry-After"]) == (429, "2")
    assert call(server, {"first": 1}).status_code == 503
    assert call(server, {"first": 1}).json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert call(server, {"first": 1}).status_code == 403
    assert call(server, {"first": 1}).status_code == 200
    assert [r.status for r in server.requests] == [429, 503, 200, 403, 200]
    assert server.faults_injected == {"429": 1, "503": 1, "graphql_error": 1, "403": 1}


def test_reset_closes_the_connection_without_an_answer(server):
    server.script("reset")
    with pytest.raises(httpx.ReadError):
        call(server, {"first": 1})


def test_a_change_while_reading_brings_a_seen_shipment_again_on_a_later_page(server):
    first = call(server, {"first": 10}).json()["data"]["shipments"]
    server.script("change")
    rest_ids, after = [], first["pageInfo"]["endCursor"]
    while after:
        data = call(server, {"first": 10, "after": after}).json()["data"]["shipments"]
        rest_ids += [node["id"] for node in data["nodes"]]
        after = data["pageInfo"]["endCursor"] if data["pageInfo"]["hasNextPage"] else None
    seen_first = {node["id"] for node in first["nodes"]}
    again = [sid for sid in rest_ids if sid in seen_first]
    assert len(again) == 1 and rest_ids[-1] == again[0]  # moved to the end: updated last
    assert len(rest_ids) == 21


def test_node_error_nulls_one_field_and_names_its_path(server):
    server.script("node_error")
    body = call(server, {"first": 4}).json()
    (error,) = body["errors"]
    assert error["path"][:3] == ["shipments", "nodes", 2]
    assert body["data"]["shipments"]["nodes"][2]["order"]["email"] is None


def test_random_faults_follow_the_rate_and_the_seed():
    def statuses(seed):
        with FakeLetzshop(vendors={"v": KEY}, fault_rate=0.5, seed=seed, slow_seconds=0) as fake:
            for _ in range(40):
                try:
                    call(fake, {"first": 1})
                except httpx.TransportError:
                    pass
            return [(r.fault, r.status) for r in fake.requests]

    first = statuses(7)
    assert first == statuses(7)
    faulty = sum(1 for fault, _ in first if fault)
    assert 10 <= faulty <= 30


PARITY_QUERIES = {
    "the client's query": SHIPMENTS_QUERY,
    "aliases": "query($after: String) { s: shipments(first: 9, after: $after) { n: nodes { key: id order { t: total } } "
               "totalCount pageInfo { endCursor } } }",
    "a fragment (graphql-core executes it all)": "fragment F on Shipment { id state } "
                                                 "query { shipments(first: 9) { nodes { ...F } totalCount } }",
    "__typename (graphql-core executes it all)": "{ shipments(first: 9) { nodes { __typename id } totalCount } }",
    "a skip directive (graphql-core executes it all)": "query($no: Boolean!) { shipments(first: 9) { nodes { id @skip(if: $no) number } totalCount } }",
    "a bad variable": "query($first: Int!) { shipments(first: $first) { nodes { id } totalCount } }",
    "a bad enum argument": "{ shipments(first: 3, state: lost) { nodes { id } totalCount } }",
    "syntax error": "{ shipments(first: 3) { nodes { id } ",
}


def query_name(query: str) -> str:
    return next(name for name, text in PARITY_QUERIES.items() if text == query)


@pytest.mark.parametrize("query", PARITY_QUERIES.values(), ids=PARITY_QUERIES.keys())
def test_answers_are_exactly_graphql_cores(query):
    """Each query text is compiled once and the nodes projected, yet every answer equals graphql_sync's."""
    from graphql import graphql_sync

    fake = FakeLetzshop(vendors={"v": KEY}, shipments=40, bad_every=7, unknown_sku_every=5)
    fake.data["v"].change(3)
    middle = encode_cursor((fake.data["v"].updated[20], 20))
    cases = [{"first": 100}, {"first": 9, "after": middle, "no": True}, {"first": "nine", "no": False}, {"first": 9, "after": "nope"}]
    compiled = fake.compile_query(query)
    assert fake.compile_query(query) is compiled  # parsed and validated once
    assert (compiled.node_plan is not None) == ("graphql-core executes" not in query_name(query) and not compiled.errors)
    for values in cases:
        expected = graphql_sync(fake.schema, query, variable_values=values, context_value={"vendor": "v"}).formatted
        assert compiled.run(fake.schema, variables=values, context={"vendor": "v"}, operation_name=None) == expected


def test_a_node_the_projection_cannot_answer_gets_graphql_cores_error():
    from graphql import graphql_sync

    fake = FakeLetzshop(vendors={"v": KEY}, shipments=5)
    broken = fake.node

    def node(vendor, index):
        value = broken(vendor, index)
        if index == 2:
            value["state"] = "lost"  # not a ShipmentState
            value["order"]["currency"] = None  # non-null
        return value

    fake.node = node
    expected = graphql_sync(fake.schema, SHIPMENTS_QUERY, variable_values={"first": 5}, context_value={"vendor": "v"}).formatted
    assert expected["errors"]
    assert fake.compile_query(SHIPMENTS_QUERY).run(fake.schema, variables={"first": 5}, context={"vendor": "v"}, operation_name=None) == expected


def test_the_answer_waits_for_the_latency_counted_from_the_request():
    with FakeLetzshop(vendors={"v": KEY}, shipments=300, latency_ms=200) as fake:
        assert call(fake, {"first": 100}).status_code == 200
        request = fake.requests[-1]
        assert request.answered - request.received >= 0.2
