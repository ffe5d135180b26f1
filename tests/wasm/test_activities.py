"""Loom's AssemblyScript activities on real data: TLSNotary's HTTP fixtures and JSON bodies."""

from __future__ import annotations

import json

import pytest

HTTP_CASES = {
    "request_get_empty": {"kind": "request", "method": "GET", "target": "/", "headers": [], "body": ""},
    "request_get_empty_header": {"headers": [["Host", "localhost"], ["Empty-Header", ""]], "body": ""},
    "request_get_with_header": {"method": "GET", "headers": [["Host", "localhost"]], "body": ""},
    "request_post_json": {"method": "POST", "target": "/hello", "body": '{"foo": "bar", "bazz": 123, "buzz": [1,"5"]}'},
    "response_json": {
        "kind": "response",
        "status": 200,
        "reason": "OK",
        "body": '{"foo": "bar", "bazz": 123, "buzz": [1,"5"]}',
    },
    "response_text": {"body": "Hello World!!!"},
    "response_empty": {"status": 200, "body": ""},
    "response_empty_header": {
        "headers": [["Cookie", "very-secret-cookie"], ["Content-Length", "0"], ["Empty-Header", ""]]
    },
    "response_chunked_json": {"body": '{"foo": "bar", "baz": 123}'},
    "response_chunked_json_multi": {"body": '{"foo": "bar", "baz": 123}'},
    "response_chunked_text": {"body": "Hello, World"},
    "response_chunked_text_multi": {"body": "Hello World. How are you?"},
}


@pytest.fixture
def http_parse(define, built):
    return define(built / "activities" / "http_parse.wasm", "assemblyscript", name="http-parse")


@pytest.mark.parametrize("name", sorted(HTTP_CASES))
def test_http_parse_fixture(executor, http_parse, fixtures, name: str) -> None:
    message = (fixtures / "tlsn" / "http" / name).read_bytes().decode()
    parsed = executor.run(http_parse, {"message": message})
    assert parsed["version"] == "HTTP/1.1"
    for key, expected in HTTP_CASES[name].items():
        assert parsed[key] == expected, key


def test_every_http_fixture_is_covered(fixtures) -> None:
    assert sorted(p.name for p in (fixtures / "tlsn" / "http").iterdir()) == sorted(HTTP_CASES)


def test_http_parse_counts_content_length_in_bytes(executor, http_parse) -> None:
    body = '{"city": "Zürich"}'
    message = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body.encode())}\r\n\r\n{body}trailing"
    assert executor.run(http_parse, {"message": message})["body"] == body


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        ("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "shorter than its Content-Length"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunk size"),
        ("HTTP/1.1 200 OK\r\nno-colon-here\r\n\r\n", "bad header line"),
        ("HTTP/1.1 200 OK\r\n", "no end of header section"),
    ],
)
def test_http_parse_rejects_malformed_messages(executor, http_parse, message: str, problem: str) -> None:
    from pipeline import errors

    with pytest.raises(errors.ActivityTrapped, match=problem):
        executor.run(http_parse, {"message": message})


def test_json_pick_matches_python(executor, define, built, fixtures) -> None:
    pick = define(built / "activities" / "json_pick.wasm", "assemblyscript", name="json-pick")
    document = json.loads((fixtures / "tlsn" / "server-data" / "4kb.json").read_text())
    paths = ["", "missing", *_some_paths(document)]
    picked = executor.run(pick, {"document": document, "paths": paths})
    assert picked == {p: _python_lookup(document, p) for p in paths}


def test_redact_replaces_only_the_named_values(executor, define, built) -> None:
    redact = define(built / "activities" / "redact.wasm", "assemblyscript", name="redact")
    doc = {"user": {"email": "a@b.c", "name": "A"}, "token": "t0k", "items": [1, {"x": 2}]}
    out = executor.run(redact, {"document": doc, "paths": ["user.email", "token", "items.1.x", "nope", "user"]})
    assert out == {"user": "[redacted]", "token": "[redacted]", "items": [1, {"x": "[redacted]"}]}


def _python_lookup(doc, path: str):
    if not path:
        return doc
    for key in path.split("."):
        if isinstance(doc, dict) and key in doc:
            doc = doc[key]
        elif isinstance(doc, list) and key.isdigit() and int(key) < len(doc):
            doc = doc[int(key)]
        else:
            return None
    return doc


def _some_paths(doc, prefix: str = "", limit: int = 40) -> list[str]:
    paths: list[str] = []
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else []
    for key, value in items:
        path = f"{prefix}{key}"
        paths.append(path)
        paths.extend(_some_paths(value, path + ".", limit))
        if len(paths) >= limit:
            break
    return paths[:limit]
