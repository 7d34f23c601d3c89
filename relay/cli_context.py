"""Exit codes, error output, settings and logging options of `relay` commands.

Exit codes: 0 success, 1 runtime failure (such as a database that cannot
be reached), 2 invalid usage or configuration (a bad option, variable or
argument, or a webhook or event code that does not exist).
"""

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn, TypeVar

import click

from relay.config import Settings
from relay.logs import configure_logging

EXIT_FAILURE = 1
EXIT_USAGE = 2

EXIT_CODES_EPILOG = (
    "Exit codes: 0 success, 1 runtime failure such as an unreachable"
    " database, 2 invalid usage or configuration."
)

LOG_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR"]
LOG_FORMATS = ["text", "json"]

_F = TypeVar("_F", bound=Callable[..., Any])


def fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    """Print one error line to standard error and exit with code."""
    click.echo(f"relay: {message}", err=True)
    sys.exit(code)


def settings_of(context: click.Context) -> Settings:
    """Return the settings that the `relay` group loaded."""
    settings: Settings = context.find_root().obj["settings"]
    return settings


def logging_options(command: _F) -> _F:
    """Accept --log-level and --log-format after a subcommand's name too.

    The group reads both options (and WEBHOOKS_LOG_FORMAT) before the
    subcommand; a value given after the subcommand replaces that choice.
    """
    command = click.option(
        "--log-format",
        type=click.Choice(LOG_FORMATS),
        expose_value=False,
        callback=_reconfigure_logging,
        help="Plain text lines, or one JSON object per line.",
    )(command)
    return click.option(
        "--log-level",
        type=click.Choice(LOG_LEVELS, case_sensitive=False),
        expose_value=False,
        callback=_reconfigure_logging,
        help="Lowest level of log line to print.",
    )(command)


def _reconfigure_logging(
    context: click.Context, parameter: click.Parameter, value: str | None
) -> None:
    if value is None:
        return
    state = context.find_root().obj
    key = "log_level" if parameter.name == "log_level" else "log_format"
    state[key] = value
    configure_logging(state["log_level"], state["log_format"])


class _Progress:
    """A progress bar, or a stand-in that draws nothing."""

    def __init__(self, bar: Any = None) -> None:
        self._bar = bar

    def update(self, count: int) -> None:
        if self._bar is not None:
            self._bar.update(count)


@contextmanager
def progress(label: str) -> Iterator[_Progress]:
    """Draw a progress bar on standard error when that is a terminal.

    Piped or logged output gets no bar, so scripts read only the result
    line on standard output.
    """
    if not sys.stderr.isatty():
        yield _Progress()
        return
    with click.progressbar(
        length=0, label=label, show_pos=True, file=sys.stderr
    ) as bar:
        yield _Progress(bar)
