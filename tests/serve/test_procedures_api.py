"""`/api/v1/procedures` and `/api/v1/known-errors` through FastAPI's TestClient: real Markdown,
DOCX and PDF bytes, status codes at the edge, one error body shape everywhere."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from knowledge.sops import BRUTE_FORCE, LOCKOUT, kb300_pdf
from lexiquery.config import get_settings
from lexiquery.serve.procedures import errors_router, procedures_router

API = "/api/v1/procedures"


def docx_bytes() -> bytes:
    import docx

    d = docx.Document()
    d.add_heading("SOP-021 Malware on an endpoint", level=1)
    d.add_heading("Containment", level=2)
    d.add_paragraph("Isolate the host with the EDR console.", style="List Number")
    d.add_paragraph("Collect the process tree of the malicious process.", style="List Number")
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def pdf_bytes() -> bytes:
    return kb300_pdf()


CORRUPT_PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\n" + b"\x00garbage" * 50


def make_client(**overrides: Any) -> TestClient:
    settings = get_settings(**{"embeddings": False, **overrides})
    app = FastAPI()
    app.include_router(procedures_router(settings))
    app.include_router(errors_router(settings))
    return TestClient(app)


@pytest.fixture
def client() -> Iterator[TestClient]:
    with make_client() as c:  # the context runs the lifespan: the store is closed at the end
        yield c


def upload(client: TestClient, *files: tuple[str, bytes], tags: list[str] | None = None) -> Any:
    return client.post(f"{API}/upload", files=[("files", (n, b)) for n, b in files],
                       data={"tags": tags} if tags else None)


def md(text: str = BRUTE_FORCE) -> bytes:
    return text.encode("utf-8")


# ── upload ───────────────────────────────────────────────────────────────────────────────────

def test_upload_one(client: TestClient) -> None:
    r = upload(client, ("SOP-017.md", md()))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["added"], body["failed"], body["mode"]) == (1, 0, "bm25")
    result = body["results"][0]
    assert result["status"] == "added" and result["document"]["label"] == "SOP-017"
    assert result["document"]["format"] == "markdown" and result["document"]["chunks"] > 1


def test_upload_several_with_tags(client: TestClient) -> None:
    r = upload(client, ("SOP-017.md", md()), ("RB-042.md", md(LOCKOUT)),
               ("SOP-021.docx", docx_bytes()), ("KB-300.pdf", pdf_bytes()),
               tags=["soc", "tier2,identity"])
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["status"] for x in results] == ["added"] * 4
    assert [x["document"]["format"] for x in results] == ["markdown", "markdown", "docx", "pdf"]
    assert all(x["document"]["tags"] == ["identity", "soc", "tier2"] for x in results)
    assert len(client.get(API).json()) == 4


def test_the_same_file_again_is_unchanged_and_new_bytes_replace(client: TestClient) -> None:
    first = upload(client, ("SOP-017.md", md())).json()["results"][0]["document"]
    again = upload(client, ("SOP-017.md", md()))
    assert again.status_code == 200 and again.json()["results"][0]["status"] == "unchanged"
    edited = upload(client, ("SOP-017.md", md(BRUTE_FORCE + "\n## 5. Review\n\nYearly.\n")))
    result = edited.json()["results"][0]
    assert edited.status_code == 200
    assert result["status"] == "replaced" and result["replaced_id"] == first["id"]
    assert [d["id"] for d in client.get(API).json()] == [result["document"]["id"]]


def test_unsupported_type_is_415(client: TestClient) -> None:
    r = upload(client, ("diagram.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 32))
    assert r.status_code == 415, r.text
    body = r.json()
    assert body["error"] == "unsupported_type" and "diagram.png" in body["message"]
    assert body["results"][0]["http_status"] == 415


def test_corrupt_pdf_is_422(client: TestClient) -> None:
    r = upload(client, ("broken.pdf", CORRUPT_PDF))
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "corrupt" and r.json()["results"][0]["status"] == "failed"


def test_oversized_is_413_and_others_in_the_request_still_land() -> None:
    big = ("# SOP-500 Big\n\n" + "A long line of runbook text.\n" * 200).encode()
    assert len(big) > 1024
    with make_client(sop_max_bytes=1024) as c:
        r = upload(c, ("SOP-500.md", big))
        assert r.status_code == 413, r.text
        assert r.json()["error"] == "too_large" and "1,024" in r.json()["message"]
        mixed = upload(c, ("SOP-500.md", big), ("RB-1.md", b"# RB-1 Small\n\nCheck the disk.\n"))
        assert mixed.status_code == 200, mixed.text
        statuses = [(x["status"], x["http_status"]) for x in mixed.json()["results"]]
        assert statuses == [("failed", 413), ("added", None)]


def test_a_request_too_large_for_any_upload_is_refused_before_parsing() -> None:
    # 50 files of 1 KiB plus 64 KiB of framing is the most a request may declare.
    with make_client(sop_max_bytes=1024) as c:
        r = upload(c, ("huge.md", b"x" * 200_000))
        assert r.status_code == 413 and "the request is larger than" in r.json()["message"]


def test_a_chunked_request_without_a_length_is_counted_as_it_arrives() -> None:
    boundary = "lexiquery-test-boundary"
    part = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; "
            f"filename=\"huge.md\"\r\nContent-Type: text/markdown\r\n\r\n").encode()
    body = part + b"x" * 200_000 + f"\r\n--{boundary}--\r\n".encode()
    pieces = [body[i:i + 16_384] for i in range(0, len(body), 16_384)]
    with make_client(sop_max_bytes=1024) as c:
        r = c.post(f"{API}/upload", content=iter(pieces),
                   headers={"content-type": f"multipart/form-data; boundary={boundary}"})
        assert r.request.headers.get("content-length") is None  # really chunked
        assert r.status_code == 413 and "the request is larger than" in r.json()["message"]
        small = part + b"# RB-7 Disk full\n\nFree space on the volume.\n" + \
            f"\r\n--{boundary}--\r\n".encode()
        ok = c.post(f"{API}/upload", content=iter([small[:40], small[40:]]),
                    headers={"content-type": f"multipart/form-data; boundary={boundary}"})
        assert ok.status_code == 200 and ok.json()["results"][0]["document"]["label"] == "RB-7"


def test_mixed_failures_without_a_success(client: TestClient) -> None:
    r = upload(client, ("a.png", b"\x89PNG"), ("b.pdf", CORRUPT_PDF))
    assert r.status_code == 422 and r.json()["error"] == "all_failed"
    assert r.json()["failed"] == 2


def test_bad_upload_requests(client: TestClient) -> None:
    r = upload(client, ("SOP-017.md", md()), tags=["x" * 101])
    assert r.status_code == 422 and "tags" in r.json()["message"]
    many = [("files", (f"RB-{i}.md", b"# x")) for i in range(51)]
    r = client.post(f"{API}/upload", files=many)
    assert r.status_code == 400 and "cannot be read" in r.json()["message"]
    assert client.get(API).json() == []  # nothing of a refused request is stored
    r = client.post(f"{API}/upload", json={"files": []})
    assert r.status_code == 415 and r.json()["error"] == "unsupported_media_type"
    r = client.post(f"{API}/upload", data={"tags": "soc"}, files={"other": ("x.md", b"# X")})
    assert r.status_code == 422 and "field 'files'" in r.json()["message"]


# ── search ───────────────────────────────────────────────────────────────────────────────────

@pytest.fixture
def stored(client: TestClient) -> TestClient:
    assert upload(client, ("SOP-017.md", md()), tags=["identity"]).status_code == 200
    assert upload(client, ("RB-042.md", md(LOCKOUT)), tags=["windows"]).status_code == 200
    return client


def search(client: TestClient, **body: Any) -> Any:
    return client.post(f"{API}/search", json=body)


def test_search_returns_a_search_result(stored: TestClient) -> None:
    r = search(stored, query="failed sign-ins threshold", limit=2)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["mode"] == "bm25" and body["note"] and 1 <= len(body["hits"]) <= 2
    hit = body["hits"][0]
    assert hit["document"]["label"] == "SOP-017" and hit["chunk"]["heading_path"]


def test_search_filters(stored: TestClient) -> None:
    def labels(**kw: Any) -> set[str]:
        r = search(stored, query="accounts", **kw)
        assert r.status_code == 200, r.text
        return {h["document"]["label"] for h in r.json()["hits"]}

    assert labels() == {"SOP-017", "RB-042"}
    assert labels(tag="windows") == {"RB-042"}
    assert labels(document="SOP-017") == {"SOP-017"}
    assert labels(platform="kql") == {"SOP-017"}
    assert labels(until="2000-01-01") == set()
    assert labels(since="2000-01-01", until="2999-12-31T00:00:00Z") == {"SOP-017", "RB-042"}
    unknown = search(stored, query="accounts", document="SOP-404")
    assert unknown.status_code == 404 and unknown.json()["error"] == "unknown_document"


@pytest.mark.parametrize("body, word", [
    ({"query": "x", "limit": 0}, "limit"),
    ({"query": "x", "limit": 51}, "limit"),
    ({"query": ""}, "query"),
    ({"query": "   "}, "blank"),
    ({"query": "x" * 2001}, "query"),
    ({"query": "x", "platform": "splunk"}, "platform"),
    ({"query": "x", "since": "yesterday"}, "since"),
    ({"query": "x", "since": "2026-12-01", "until": "2026-11-01"}, "since is after until"),
    ({"query": "x", "limt": 3}, "limt"),
    ({}, "query"),
])
def test_bad_search_bodies_are_422_with_a_message(client: TestClient, body: dict[str, Any],
                                                  word: str) -> None:
    r = search(client, **body)
    assert r.status_code == 422, r.text
    data = r.json()
    assert data["error"] == "bad_request" and word in data["message"] and data["issues"]


def test_hybrid_when_ollama_serves_embeddings(fake_ollama: Any) -> None:
    with make_client(embeddings=True) as c:
        body = upload(c, ("SOP-017.md", md()), ("RB-042.md", md(LOCKOUT))).json()
        assert (body["mode"], body["note"]) == ("hybrid", "embeddings from nomic-embed-text")
        assert all(x["document"]["embedded"] for x in body["results"])
        found = search(c, query="password guessing").json()
        assert found["mode"] == "hybrid" and found["hits"]
        assert any(h["dense_rank"] is not None for h in found["hits"])


def test_concurrent_searches_share_the_store_safely(stored: TestClient) -> None:
    from concurrent.futures import ThreadPoolExecutor

    queries = ["failed sign-ins", "lockout", "containment", "VIP list"] * 4
    with ThreadPoolExecutor(max_workers=4) as pool:
        codes = list(pool.map(lambda q: search(stored, query=q).status_code, queries))
        upload_done = pool.submit(upload, stored, ("RB-9.md", b"# RB-9 Certificates\n\nRenew.\n"))
        more = list(pool.map(lambda q: search(stored, query=q).status_code, queries))
        assert upload_done.result().status_code == 200
    assert codes == more == [200] * len(queries)


# ── list, show, delete ───────────────────────────────────────────────────────────────────────

def test_list_show_delete(stored: TestClient) -> None:
    docs = stored.get(API).json()
    assert {d["label"] for d in docs} == {"SOP-017", "RB-042"}
    assert [d["label"] for d in stored.get(API, params={"tag": "windows"}).json()] == ["RB-042"]
    detail = stored.get(f"{API}/SOP-017")
    assert detail.status_code == 200
    body = detail.json()
    assert body["document"]["label"] == "SOP-017" and body["chunks"] and body["procedures"]
    doc_id = body["document"]["id"]
    assert stored.get(f"{API}/{doc_id[:8]}").json()["document"]["id"] == doc_id
    gone = stored.delete(f"{API}/{doc_id}")
    assert gone.status_code == 200 and gone.json()["id"] == doc_id
    missing = stored.get(f"{API}/{doc_id}")
    assert missing.status_code == 404
    err = missing.json()
    assert err["error"] == "unknown_document" and doc_id in err["message"] and err["hint"]
    assert stored.delete(f"{API}/{doc_id}").status_code == 404
    assert [d["label"] for d in stored.get(API).json()] == ["RB-042"]


def test_the_store_outlives_a_client_and_sees_other_writers(tmp_path: Path) -> None:
    with make_client() as a:
        upload(a, ("SOP-017.md", md()))
    with make_client() as b:  # a new router on the same data directory
        assert [d["label"] for d in b.get(API).json()] == ["SOP-017"]


# ── known errors and OpenAPI ─────────────────────────────────────────────────────────────────

def test_known_errors(tmp_path: Path) -> None:
    f = tmp_path / "errors.yaml"
    f.write_text("- code: PAY-0042\n  system: custom\n  title: Payment gateway timeout\n"
                 "  meaning: The provider did not answer.\n", encoding="utf-8")
    with make_client(known_errors_files=[f]) as c:
        r = c.get("/api/v1/known-errors/PAY-0042")
        assert r.status_code == 200 and r.json()["title"] == "Payment gateway timeout"
        assert c.get("/api/v1/known-errors/50126").json()["system"] == "entra"
        custom = c.get("/api/v1/known-errors", params={"system": "custom"}).json()
        assert [e["code"] for e in custom] == ["PAY-0042"]
        missing = c.get("/api/v1/known-errors/NOPE-1")
        assert missing.status_code == 404 and missing.json()["error"] == "unknown_error_code"


def test_openapi_documents_the_routes() -> None:
    app = FastAPI()
    app.include_router(procedures_router(get_settings(embeddings=False)))
    spec = app.openapi()
    upload_body = spec["paths"][f"{API}/upload"]["post"]["requestBody"]["content"]
    assert "files" in upload_body["multipart/form-data"]["schema"]["properties"]
    search_op = spec["paths"][f"{API}/search"]["post"]
    assert search_op["requestBody"]["content"]["application/json"]["schema"]["$ref"] \
        .endswith("/SearchRequest")
    limit = spec["components"]["schemas"]["SearchRequest"]["properties"]["limit"]
    assert (limit["minimum"], limit["maximum"]) == (1, 50)
    assert {"get", "delete"} <= set(spec["paths"][f"{API}/{{ref}}"])
