"""The ceiling: a bare urllib3 loop posting the same requests, no database.

N processes each run M threads sharing one keep-alive pool, the same
processes and requests in flight as the relay run it is compared with.
"""

import multiprocessing
import queue
import resource
import threading
import uuid

from bench.cpu import process_cpu_seconds
from bench.receiver import ReceiverProcess
from bench.work import new_pool, post

_SPAWN = multiprocessing.get_context("spawn")


def _post_all(url: str, job_ids: list[str], in_flight: int) -> None:
    pool = new_pool(url, in_flight)
    pending: queue.SimpleQueue[str] = queue.SimpleQueue()
    for job_id in job_ids:
        pending.put(job_id)

    def drain() -> None:
        while True:
            try:
                job_id = pending.get_nowait()
            except queue.Empty:
                return
            post(pool, url, job_id)

    threads = [threading.Thread(target=drain) for _ in range(in_flight)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def run_ceiling(
    receiver: ReceiverProcess, *, deliveries: int, processes: int, in_flight: int
) -> dict[str, float]:
    """Post deliveries requests; return the rate and the CPU time per request.

    The rate counts from the first to the last arrival.
    """
    job_ids = [str(uuid.uuid4()) for _ in range(deliveries)]
    children_before = _children_cpu_seconds()
    receiver_before = process_cpu_seconds(receiver.process.pid)
    url = receiver.url("/ceiling")
    workers = [
        _SPAWN.Process(target=_post_all, args=(url, job_ids[n::processes], in_flight))
        for n in range(processes)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(600)
        if worker.exitcode != 0:
            raise RuntimeError(f"ceiling process exited with {worker.exitcode}")

    # Joined processes count in RUSAGE_CHILDREN, the receiver does not yet.
    client_cpu = _children_cpu_seconds() - children_before
    receiver_cpu = process_cpu_seconds(receiver.process.pid) - receiver_before

    arrivals = receiver.take_arrivals()
    missing = set(job_ids) - arrivals.keys()
    if missing:
        raise RuntimeError(f"ceiling: {len(missing)} requests never arrived")
    times = sorted(arrivals[job_id] for job_id in job_ids)
    return {
        "deliveries_per_second": deliveries / (times[-1] - times[0]),
        "client_cpu_ms_per_delivery": client_cpu * 1000 / deliveries,
        "receiver_cpu_ms_per_delivery": receiver_cpu * 1000 / deliveries,
    }


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
