"""The same job done by two other PostgreSQL queues written in Python.

Each peer runs on a fresh database in the same number of processes, with
the same requests in flight, as the relay. It does what the relay does for
one instance: claim a job, POST the signed request (bench.work) and mark
the job done. Jobs are enqueued in bulk before the workers start, and the
rate is counted from the first arrival to the moment no job is left
unfinished, as for the relay's drain run.

Settings follow each project's documentation for throughput:

* Procrastinate 3.10: PsycopgConnector pool, one worker per process with
  ``concurrency`` = requests in flight, a synchronous task (Procrastinate
  runs it in the event loop's default executor, sized to the requests in
  flight) and ``delete_jobs="never"``, since the relay keeps its rows too.
* PgQueuer 1.6: the asyncpg driver on one connection per process,
  ``batch_size`` = half the requests in flight and ``max_concurrent_tasks``
  = the requests in flight (its minimum is twice the batch), the
  autovacuum settings of ``pgq autovac``, and the POST in
  ``asyncio.to_thread``.
"""

import asyncio
import multiprocessing
import uuid
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg
import procrastinate
from pgqueuer import AsyncpgDriver, Job, Queries, QueueManager
from pgqueuer.types import QueueExecutionMode
from procrastinate.tasks import Task
from procrastinate.types import JSONValue

from bench.database import (
    cost_per_delivery,
    cost_snapshot,
    fresh_database,
    wait_until_zero,
)
from bench.receiver import ReceiverProcess
from bench.work import new_pool, post

_SPAWN = multiprocessing.get_context("spawn")
_QUEUE = "deliveries"
# Connections in each Procrastinate worker's pool. Its sub-workers each
# need a connection to fetch or finish a job, and fewer than the requests
# in flight made them wait for the pool in trial runs.
PROCRASTINATE_POOL_SIZE = 10


def _procrastinate_app(url: str, pool_size: int) -> procrastinate.App:
    return procrastinate.App(
        connector=procrastinate.PsycopgConnector(
            conninfo=url, min_size=1, max_size=pool_size
        )
    )


def _register_procrastinate_task(
    app: procrastinate.App, receiver_url: str, in_flight: int
) -> Task[..., None, ...]:
    pool = new_pool(receiver_url, in_flight)

    @app.task(name="deliver", queue=_QUEUE)
    def deliver(job_id: str) -> None:
        post(pool, receiver_url, job_id)

    return deliver


async def _procrastinate_enqueue(url: str, job_ids: list[str]) -> None:
    app = _procrastinate_app(url, 2)
    deliver = _register_procrastinate_task(app, "http://127.0.0.1:1/", 1)
    async with app.open_async():
        await app.schema_manager.apply_schema_async()
        for start in range(0, len(job_ids), 1000):
            chunk = job_ids[start : start + 1000]
            arguments: list[dict[str, JSONValue]] = [{"job_id": j} for j in chunk]
            await deliver.batch_defer_async(*arguments)


def _procrastinate_worker(url: str, receiver_url: str, in_flight: int) -> None:
    async def work() -> None:
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=in_flight)
        )
        app = _procrastinate_app(url, PROCRASTINATE_POOL_SIZE)
        _register_procrastinate_task(app, receiver_url, in_flight)
        async with app.open_async():
            await app.run_worker_async(
                queues=[_QUEUE],
                concurrency=in_flight,
                wait=False,
                delete_jobs="never",
                install_signal_handlers=False,
            )

    asyncio.run(work())


async def _pgqueuer_enqueue(url: str, job_ids: list[str]) -> None:
    connection = await asyncpg.connect(url)
    try:
        queries = Queries(AsyncpgDriver(connection))
        await queries.install()
        await queries.optimize_autovacuum()
        for start in range(0, len(job_ids), 1000):
            chunk = job_ids[start : start + 1000]
            await queries.enqueue(
                ["deliver"] * len(chunk), [j.encode() for j in chunk], [0] * len(chunk)
            )
    finally:
        await connection.close()


def _pgqueuer_worker(url: str, receiver_url: str, in_flight: int) -> None:
    async def work() -> None:
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=in_flight)
        )
        pool = new_pool(receiver_url, in_flight)
        connection = await asyncpg.connect(url)
        manager = QueueManager(Queries(AsyncpgDriver(connection)))

        @manager.entrypoint("deliver")
        async def deliver(job: Job) -> None:
            assert job.payload is not None
            await asyncio.to_thread(post, pool, receiver_url, job.payload.decode())

        try:
            await manager.run(
                batch_size=max(1, in_flight // 2),
                max_concurrent_tasks=max(2, in_flight),
                mode=QueueExecutionMode.drain,
                dequeue_timeout=timedelta(seconds=1),
            )
        finally:
            await connection.close()

    asyncio.run(work())


@dataclass(frozen=True)
class Peer:
    """One peer queue: how to fill it, run a worker and count what is left."""

    label: str
    enqueue: Callable[[str, list[str]], Coroutine[Any, Any, None]]
    worker: Callable[[str, str, int], None]
    unfinished: str


PROCRASTINATE = Peer(
    label="procrastinate",
    enqueue=_procrastinate_enqueue,
    worker=_procrastinate_worker,
    unfinished="SELECT count(*) FROM procrastinate_jobs WHERE status <> 'succeeded'",
)
PGQUEUER = Peer(
    label="pgqueuer",
    enqueue=_pgqueuer_enqueue,
    worker=_pgqueuer_worker,
    # Finished jobs move from the queue table to pgqueuer_log.
    unfinished="SELECT count(*) FROM pgqueuer",
)


def run_peer(
    peer: Peer,
    receiver: ReceiverProcess,
    *,
    deliveries: int,
    processes: int,
    in_flight: int,
    timeout: float,
) -> dict[str, float]:
    """Drain deliveries jobs of peer; return the rate and the database cost."""
    job_ids = [str(uuid.uuid4()) for _ in range(deliveries)]
    receiver_url = receiver.url(f"/{peer.label}")
    with fresh_database(peer.label) as url:
        asyncio.run(peer.enqueue(url, job_ids))
        before = cost_snapshot(url)
        workers = [
            _SPAWN.Process(target=peer.worker, args=(url, receiver_url, in_flight))
            for _ in range(processes)
        ]
        for process in workers:
            process.start()
        try:
            done = wait_until_zero(url, peer.unfinished, timeout=timeout)
        finally:
            for process in workers:
                process.join(30)
                if process.is_alive():
                    process.kill()
        after = cost_snapshot(url)

        arrivals = receiver.take_arrivals()
        missing = set(job_ids) - arrivals.keys()
        if missing:
            raise RuntimeError(f"{peer.label}: {len(missing)} jobs never arrived")
        first = min(arrivals.values())
        return {
            "deliveries_per_second": deliveries / (done - first),
            **cost_per_delivery(url, before, after, deliveries),
        }
