"""Benchmarks of the relay against an HTTP-only ceiling and two peer queues.

Run ``python -m bench run --help``; docs/benchmarks.md explains each part
and shows the latest table.
"""
