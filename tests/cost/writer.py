"""A separate process writing usage records (the concurrent-writers test runs several).

    python writer.py BACKEND LOCATION WRITER_NO COUNT

BACKEND is sqlite (LOCATION: the file) or redis (LOCATION: the URL). Each record goes to
journey "w<WRITER_NO>" and, every other one, to the shared journey "shared".
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

from lexiquery.cost.model import UsageRecord
from lexiquery.cost.store import CostStore, SqliteCostStore


def main(backend: str, location: str, writer: int, count: int) -> None:
    store: CostStore
    if backend == "redis":
        from lexiquery.cost.redis_store import RedisCostStore

        store = RedisCostStore(location)
    else:
        store = SqliteCostStore(Path(location))
    for i in range(count):
        store.add(UsageRecord(
            journey_id="shared" if i % 2 else f"w{writer}", at=datetime.now(timezone.utc),
            model_type="llm", model="llama3", service=f"writer-{writer}", operation="plan",
            prompt_tokens=i, completion_tokens=1, total_tokens=i + 1, latency_ms=1.0))
    store.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
