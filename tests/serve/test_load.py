"""200 presentation verifications at once, on loopback: every one answered, and answered right (the figures, latency
and throughput beside the native verifier, are benches/bench_serve.py's)."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import httpx

from pipeline import tlsn
from tests.support import FIXTURES, GOLDEN_NOTARY_KEY
from tests.support.serve import served

CONCURRENT = 200


async def _verify_all(url: str, key: str, body: dict[str, object]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=CONCURRENT, max_keepalive_connections=CONCURRENT)
    async with httpx.AsyncClient(base_url=url, headers={"x-api-key": key}, limits=limits, timeout=120) as client:
        return list(await asyncio.gather(*(client.post("/v1/tlsn/verify", json=body) for _ in range(CONCURRENT))))


def test_200_concurrent_verifications_are_all_answered_right(tmp_path: Path) -> None:
    presentation = (FIXTURES / "tlsn" / "presentation.bin").read_bytes()
    policy = tlsn.Policy(notary_keys=(GOLDEN_NOTARY_KEY,), now=1700000000)
    expected = tlsn.verify_presentation(presentation, policy).model_dump(mode="json", by_alias=True)
    body = {
        "presentation": base64.b64encode(presentation).decode(),
        "policy": {"notary_keys": [GOLDEN_NOTARY_KEY], "now": 1700000000},
    }
    with served(tmp_path) as server:
        responses = asyncio.run(_verify_all(server.url, server.key, body))
        assert server.process.poll() is None
    assert [r.status_code for r in responses] == [200] * CONCURRENT
    for response in responses:
        shown = response.json()
        assert shown.pop("encoding") == "base64"
        assert shown == expected
