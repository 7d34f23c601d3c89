"""``python -m bench run``: run every part of the benchmark and report.

Prints a Markdown table and writes every round's raw values and the
medians to a JSON file. See docs/benchmarks.md.
"""

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from bench.backlog import run_backlog
from bench.ceiling import run_ceiling
from bench.emit_cost import run_emit_cost
from bench.figures import Figure
from bench.machine import describe_machine
from bench.peers import PGQUEUER, PROCRASTINATE, run_peer
from bench.receiver import ReceiverProcess
from bench.relay_runs import RelayShape, run_drain, run_idle, run_live

FULL_BACKLOG = [10_000, 100_000, 1_000_000]
QUICK_BACKLOG = [10_000, 100_000]
PARTS = ("throughput", "latency", "emit", "backlog")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="Run the benchmark and print the table.")
    run.add_argument("--rounds", type=int, default=3, help="Runs per figure.")
    run.add_argument("--events", type=int, default=1000, help="Events per run.")
    run.add_argument(
        "--webhooks", type=int, default=5, help="Webhooks each event goes to."
    )
    run.add_argument("--workers", type=int, default=2, help="Processes per system.")
    run.add_argument(
        "--concurrency", type=int, default=20, help="Requests in flight per process."
    )
    run.add_argument("--idle-rate", type=float, default=20, help="Events per second.")
    run.add_argument(
        "--idle-seconds", type=float, default=10, help="Length of the idle run."
    )
    run.add_argument(
        "--emit-seconds", type=float, default=5, help="Length of each pgbench run."
    )
    run.add_argument(
        "--backlog",
        type=int,
        nargs="+",
        help="Pending instances to measure at (default 10k 100k 1M).",
    )
    run.add_argument(
        "--quick", action="store_true", help="Stop the backlog at 100k instances."
    )
    run.add_argument(
        "--parts", nargs="+", choices=PARTS, default=list(PARTS), help="Parts to run."
    )
    run.add_argument(
        "--timeout", type=float, default=300, help="Seconds one run may take."
    )
    run.add_argument(
        "--output",
        type=Path,
        default=Path("bench/results/latest.json"),
        help="JSON file for the raw rounds and the figures.",
    )
    return parser


def _summarise(rounds: list[dict[str, float]]) -> dict[str, Figure]:
    return {key: Figure.of([r[key] for r in rounds]) for key in rounds[0]}


def _throughput(arguments: argparse.Namespace, log: Any) -> list[dict[str, float]]:
    """Run the ceiling, the relay and the peers side by side, round by round."""
    shape = RelayShape(arguments.workers, arguments.concurrency, arguments.webhooks)
    deliveries = arguments.events * arguments.webhooks
    common = {
        "deliveries": deliveries,
        "processes": arguments.workers,
        "in_flight": arguments.concurrency,
    }
    rounds = []
    receiver = ReceiverProcess.start()
    try:
        for number in range(arguments.rounds):
            log(f"throughput round {number + 1}/{arguments.rounds}")
            ceiling = run_ceiling(receiver, **common)
            drain = run_drain(
                receiver, shape, events=arguments.events, timeout=arguments.timeout
            )
            live = run_live(
                receiver,
                shape,
                events=arguments.events,
                emit_clients=4,
                timeout=arguments.timeout,
            )
            pgqueuer = run_peer(PGQUEUER, receiver, timeout=arguments.timeout, **common)
            procrastinate = run_peer(
                PROCRASTINATE, receiver, timeout=arguments.timeout, **common
            )
            rate = "deliveries_per_second"
            round_figures = {
                "ceiling rate": ceiling[rate],
                **{f"ceiling {k}": v for k, v in ceiling.items() if k != rate},
                **{f"relay drain {k}": v for k, v in drain.items()},
                **{f"relay live {k}": v for k, v in live.items()},
                **{f"pgqueuer {k}": v for k, v in pgqueuer.items()},
                **{f"procrastinate {k}": v for k, v in procrastinate.items()},
                "relay / ceiling": drain[rate] / ceiling[rate],
                "relay / pgqueuer": drain[rate] / pgqueuer[rate],
                "relay / procrastinate": drain[rate] / procrastinate[rate],
            }
            rounds.append(round_figures)
    finally:
        receiver.stop()
    return rounds


def _idle(arguments: argparse.Namespace, log: Any) -> list[dict[str, float]]:
    shape = RelayShape(arguments.workers, arguments.concurrency, 1)
    rounds = []
    receiver = ReceiverProcess.start()
    try:
        for number in range(arguments.rounds):
            log(f"idle latency round {number + 1}/{arguments.rounds}")
            rounds.append(
                run_idle(
                    receiver,
                    shape,
                    rate=arguments.idle_rate,
                    duration=arguments.idle_seconds,
                    timeout=arguments.timeout,
                )
            )
    finally:
        receiver.stop()
    return rounds


def _backlog_sizes(arguments: argparse.Namespace) -> list[int]:
    if arguments.backlog:
        return sorted(arguments.backlog)
    return QUICK_BACKLOG if arguments.quick else FULL_BACKLOG


def run(arguments: argparse.Namespace) -> dict[str, Any]:
    """Run the chosen parts; return the machine, raw rounds and figures."""
    started = time.monotonic()

    def log(message: str) -> None:
        print(f"[{time.monotonic() - started:6.0f} s] {message}", file=sys.stderr)

    report: dict[str, Any] = {
        "machine": describe_machine(),
        "parameters": {
            key: (str(value) if isinstance(value, Path) else value)
            for key, value in vars(arguments).items()
        },
        "rounds": {},
    }
    if "throughput" in arguments.parts:
        report["rounds"]["throughput"] = _throughput(arguments, log)
    if "latency" in arguments.parts:
        report["rounds"]["idle"] = _idle(arguments, log)
    if "emit" in arguments.parts:
        log("emit cost")
        report["rounds"]["emit"] = run_emit_cost(
            rounds=arguments.rounds, seconds=arguments.emit_seconds
        )
    if "backlog" in arguments.parts:
        log("backlog")
        backlog = run_backlog(_backlog_sizes(arguments), rounds=arguments.rounds)
        report["rounds"]["backlog"] = {str(k): v for k, v in backlog.items()}
    report["figures"] = {
        part: _summarise(rounds)
        for part, rounds in report["rounds"].items()
        if part != "backlog"
    }
    report["figures"].update(
        {
            f"backlog {size}": _summarise(rounds)
            for size, rounds in report["rounds"].get("backlog", {}).items()
        }
    )
    log("done")
    return report


def format_table(report: dict[str, Any]) -> str:
    """Return the figures as a Markdown table, median (min-max) of the rounds."""
    lines = ["| part | measure | median (min-max) |", "|---|---|---|"]
    for part, figures in report["figures"].items():
        for name, figure in figures.items():
            digits = 0 if figure.median >= 100 else 2
            lines.append(f"| {part} | {name} | {figure.text(digits)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return the exit status."""
    arguments = _parser().parse_args(argv)
    report = run(arguments)
    print(format_table(report))
    serialisable = {
        **report,
        "figures": {
            part: {name: figure.as_dict() for name, figure in figures.items()}
            for part, figures in report["figures"].items()
        },
    }
    arguments.output.write_text(json.dumps(serialisable, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
