"""Liveness, readiness (per-component, 503 within a second when a dependency is down), metrics."""

import asyncio
from typing import Any

from litestar import Response, get
from sqlalchemy import text

from app.web.dependencies import Web

CHECK_TIMEOUT_SECONDS = 0.8


@get("/health/live", sync_to_thread=False, exclude_from_auth=True)
def live() -> dict[str, str]:
    return {"status": "ok"}


async def _check_database(web: Web) -> str:
    async with web.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return "ok"


async def _check_queue(web: Web) -> str:
    if web.queue is None:
        return "not configured"
    await web.queue.ping()
    web.metrics.queue_depth.set(await web.queue.depth())
    return "ok"


async def _timed(check: Any, web: Web) -> str:
    try:
        return str(await asyncio.wait_for(check(web), CHECK_TIMEOUT_SECONDS))
    except TimeoutError:
        return "timeout"
    except Exception as exc:  # any failure means "down"; the name is enough for an operator
        return f"down: {type(exc).__name__}"


@get("/health/ready")
async def ready(web: Web) -> Response[dict[str, Any]]:
    database, queue = await asyncio.gather(_timed(_check_database, web), _timed(_check_queue, web))
    components = {"database": database, "queue": queue}
    healthy = all(v in {"ok", "not configured"} for v in components.values())
    return Response(
        {"status": "ok" if healthy else "unavailable", "components": components},
        status_code=200 if healthy else 503,
    )


@get("/metrics", media_type="text/plain; version=0.0.4")
async def metrics(web: Web) -> bytes:
    return web.metrics.render()
