"""Find or start a PostgreSQL server for the tests and print how to reach it.

Run it with the project's virtualenv, which provides psycopg::

    exports="$(.venv/bin/python scripts/postgres.py start)"
    eval "$exports"
    ...
    .venv/bin/python scripts/postgres.py stop

``start`` tries these in order and uses the first that works:

1. ``DATABASE_URL``, when set and not empty. A successful connection prints
   the URL unchanged. A failed one ends the script with one line that names
   DATABASE_URL and the error, with any password replaced by ``***``.
2. 127.0.0.1:5432, database ``postgres``, as user ``postgres`` and then as
   the current OS user.
3. A throwaway cluster started from installed server binaries, found through
   ``pg_config --bindir``, /usr/lib/postgresql/*/bin and PATH. It listens on
   127.0.0.1 only, on a free port, with trust authentication and fsync off,
   in a fresh temporary directory. PostgreSQL refuses to run as root, so a
   root caller runs initdb and pg_ctl as ``postgres`` (or ``nobody`` when
   that user does not exist) through ``runuser``.
4. Otherwise it exits with status 2 and one line that names what is missing.

stdout carries only shell ``export`` lines: ``DATABASE_URL`` always, and
``WEBHOOKS_PG_THROWAWAY`` (the data directory) only when step 3 started a
cluster. Progress and errors go to stderr. ``stop`` stops the cluster named
by ``WEBHOOKS_PG_THROWAWAY`` and removes its temporary directory.

Two environment variables exist only to test the fallbacks on a machine that
has a server on 5432, without stopping that server:

``WEBHOOKS_PG_PROBE``
    ``HOST:PORT`` that step 2 connects to instead of 127.0.0.1:5432.
``WEBHOOKS_PG_BINDIR``
    The only directory that step 3 searches for initdb, pg_ctl and postgres.

Exit status: 0 on success, 1 on a failure (unreachable DATABASE_URL, a
cluster that did not start or stop), 2 when no server and no server binaries
were found or the command line is invalid.
"""

import argparse
import json
import logging
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from urllib.parse import quote, urlsplit

try:
    import psycopg
    from psycopg.conninfo import conninfo_to_dict
except ImportError:
    sys.exit(
        "postgres.py: psycopg is not installed for this Python; "
        "run scripts/setup-venv, then run this script with .venv/bin/python"
    )

log = logging.getLogger("postgres.py")

DEFAULT_PROBE = "127.0.0.1:5432"
SERVER_BINARIES = ("initdb", "pg_ctl", "postgres")

CONNECT_TIMEOUT_S = 3
READY_TIMEOUT_S = 30
COMMAND_TIMEOUT_S = 120
PORT_ATTEMPTS = 3

TEMP_PREFIX = "webhooks-pg-"
MARKER_NAME = "throwaway.json"
EXIT_FAILURE = 1
EXIT_NOT_FOUND = 2


class ScriptError(Exception):
    """A failure reported as one line on stderr, with the exit status to use."""

    def __init__(self, message: str, exit_status: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.exit_status = exit_status


@dataclass(frozen=True)
class Cluster:
    """A throwaway cluster: where it lives and how to run its binaries."""

    root: Path
    bindir: Path
    owner: str | None  # OS user that runs the binaries, or None for the caller

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    @property
    def logfile(self) -> Path:
        return self.root / "postgres.log"


# --- Connecting ----------------------------------------------------------


def one_line(text: str) -> str:
    """Collapse whitespace so that a multi-line error fits on one line."""
    return " ".join(text.split())


def password_of(url: str) -> str | None:
    """Return the password in a libpq URL or key=value string, if any."""
    try:
        password = conninfo_to_dict(url).get("password")
    except psycopg.Error:
        password = None
    if password is None:
        try:
            password = urlsplit(url).password
        except ValueError:
            password = None
    return str(password) if password else None


def redact(text: str, password: str | None) -> str:
    """Replace every occurrence of the password in text with ``***``."""
    if not password:
        return text
    return text.replace(quote(password, safe=""), "***").replace(password, "***")


def as_sentence(text: str) -> str:
    """End text with a full stop unless it already ends a sentence."""
    return text if text.endswith((".", "?", "!")) else f"{text}."


def connect_error(url: str) -> str | None:
    """Try one connection and return None on success, else the error in one line."""
    try:
        with psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S, autocommit=True):
            return None
    except psycopg.Error as exc:
        return one_line(str(exc)) or type(exc).__name__


def server_url(host: str, port: int, user: str) -> str:
    """Build the URL of database ``postgres`` on a server."""
    if ":" in host:
        host = f"[{host}]"
    return f"postgresql://{quote(user, safe='')}@{host}:{port}/postgres"


def parse_probe(value: str) -> tuple[str, int]:
    """Split ``HOST:PORT`` (``[::1]:PORT`` for IPv6) from WEBHOOKS_PG_PROBE."""
    host, _, port = value.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ScriptError(
            f"WEBHOOKS_PG_PROBE={value!r} is invalid: expected HOST:PORT, "
            "e.g. 127.0.0.1:5432",
            EXIT_NOT_FOUND,
        )
    return host, int(port)


def current_user() -> str:
    """Return the name of the OS user that runs this script."""
    return pwd.getpwuid(os.getuid()).pw_name


def use_database_url(url: str) -> str:
    """Check that DATABASE_URL accepts a connection and return it unchanged."""
    password = password_of(url)
    error = connect_error(url)
    if error is not None:
        redacted_url = redact(url, password)
        raise ScriptError(
            redact(
                f"DATABASE_URL ({redacted_url}) is unreachable: {as_sentence(error)} "
                "Fix DATABASE_URL, or unset it to use a local server.",
                password,
            )
        )
    log.info("using the server in DATABASE_URL")
    return url


def find_local_server(host: str, port: int) -> tuple[str | None, list[str]]:
    """Connect to host:port as ``postgres``, then as the current OS user.

    Returns the URL that connected, or None and the error of each try.
    """
    users = ["postgres"]
    if current_user() != "postgres":
        users.append(current_user())
    errors = []
    for user in users:
        url = server_url(host, port, user)
        error = connect_error(url)
        if error is None:
            log.info("using the server at %s:%s as user %s", host, port, user)
            return url, []
        errors.append(f"as {user}: {error}")
    return None, errors


# --- Finding the server binaries ----------------------------------------


def has_server_binaries(directory: Path) -> bool:
    """Tell whether a directory contains initdb, pg_ctl and postgres."""
    return all(os.access(directory / name, os.X_OK) for name in SERVER_BINARIES)


def candidate_bindirs() -> list[Path]:
    """List the directories to search for server binaries, most likely first."""
    override = os.environ.get("WEBHOOKS_PG_BINDIR")
    if override:
        return [Path(override)]

    candidates = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            result = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10
            )
            if result.returncode == 0 and result.stdout.strip():
                candidates.append(Path(result.stdout.strip()))
        except (OSError, subprocess.TimeoutExpired):
            pass

    # Debian and Ubuntu install major versions side by side. Prefer the
    # newest, compared as numbers so that 9.6 sorts below 15.
    def version_key(path: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", path.parent.name))

    versioned = Path("/usr/lib/postgresql").glob("*/bin")
    candidates.extend(sorted(versioned, key=version_key, reverse=True))

    # PATH entries are often symlinks, and pg_ctl looks for postgres next to
    # the file it resolves to, so search the resolved directory.
    for name in ("initdb", "pg_ctl"):
        found = shutil.which(name)
        if found:
            candidates.append(Path(found).resolve().parent)
    return candidates


def find_bindir() -> tuple[Path | None, list[Path]]:
    """Return the first directory with the server binaries, and all searched."""
    searched: list[Path] = []
    for directory in candidate_bindirs():
        if directory in searched:
            continue
        searched.append(directory)
        if has_server_binaries(directory):
            return directory, searched
    return None, searched


# --- Running the binaries as an unprivileged user -----------------------


def cluster_owner() -> str | None:
    """Choose the OS user that runs the server: None means the caller.

    PostgreSQL refuses to start as root, so root hands the cluster to
    ``postgres`` when that user exists, else to ``nobody``.
    """
    if os.getuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise ScriptError(
        "running as root, but no unprivileged user was found to run the server "
        "(tried postgres and nobody); create user postgres, or set DATABASE_URL",
        EXIT_NOT_FOUND,
    )


def runuser_path() -> str:
    """Return the path of runuser, which root needs to start the server."""
    for candidate in (shutil.which("runuser"), "/usr/sbin/runuser", "/sbin/runuser"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise ScriptError(
        "running as root, but runuser (util-linux) was not found; install "
        "util-linux, run as a non-root user, or set DATABASE_URL",
        EXIT_NOT_FOUND,
    )


def run_as(
    owner: str | None, command: list[str], cwd: Path, timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run a command as owner (or as the caller), capturing its output."""
    if owner is not None:
        command = [runuser_path(), "-u", owner, "--", *command]
    try:
        return subprocess.run(
            command, cwd=cwd, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        raise ScriptError(
            f"{Path(command[0]).name} timed out after {timeout:.0f} s: "
            f"{shlex.join(command)}"
        ) from exc


def pg_ctl(cluster: Cluster, *args: str) -> subprocess.CompletedProcess[str]:
    """Run pg_ctl on the cluster's data directory as the cluster's owner."""
    command = [str(cluster.bindir / "pg_ctl"), "-D", str(cluster.datadir), *args]
    return run_as(cluster.owner, command, cluster.root, COMMAND_TIMEOUT_S)


# --- Starting and stopping a throwaway cluster --------------------------


def pick_free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago.

    Another process can take it before the server binds it, so the caller
    retries with a new port when the server reports the address in use.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def log_size(cluster: Cluster) -> int:
    """Return the size of the server log in bytes, 0 before it exists."""
    try:
        return cluster.logfile.stat().st_size
    except OSError:
        return 0


def log_tail(cluster: Cluster, offset: int, lines: int = 20) -> str:
    """Return the last lines written to the server log after byte offset."""
    try:
        with cluster.logfile.open("rb") as logfile:
            logfile.seek(offset)
            text = logfile.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def create_cluster_root(owner: str | None) -> Path:
    """Create the temporary directory for a cluster, owned by its owner."""
    root = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
    if owner is None:
        return root

    entry = pwd.getpwnam(owner)
    os.chown(root, entry.pw_uid, entry.pw_gid)
    # The owner also needs to reach the directory through its parents,
    # which fails when TMPDIR points inside root's home.
    check = run_as(owner, ["test", "-w", str(root)], Path("/"), 10)
    if check.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise ScriptError(
            f"user {owner} cannot write to {root}; set TMPDIR to a directory "
            f"that {owner} can reach, such as /tmp"
        )
    return root


def write_marker(cluster: Cluster) -> None:
    """Record the cluster's settings so that ``stop`` can find and trust it."""
    marker = {
        "datadir": str(cluster.datadir),
        "bindir": str(cluster.bindir),
        "owner": cluster.owner,
    }
    (cluster.root / MARKER_NAME).write_text(json.dumps(marker) + "\n")


def read_marker(datadir: Path) -> Cluster:
    """Load the cluster whose data directory is datadir, checking its marker.

    The marker keeps ``stop`` from deleting a directory that this script did
    not create, for example after a typo in WEBHOOKS_PG_THROWAWAY.
    """
    marker_path = datadir.parent / MARKER_NAME
    try:
        marker = json.loads(marker_path.read_text())
    except (OSError, ValueError) as exc:
        raise ScriptError(
            f"WEBHOOKS_PG_THROWAWAY={datadir} is not a throwaway cluster made by "
            f"this script ({marker_path}: {exc}); nothing was stopped or removed"
        ) from exc
    if marker.get("datadir") != str(datadir):
        raise ScriptError(
            f"WEBHOOKS_PG_THROWAWAY={datadir} does not match the data directory "
            f"{marker.get('datadir')!r} in {marker_path}; nothing was removed"
        )
    return Cluster(datadir.parent, Path(marker["bindir"]), marker.get("owner"))


def init_cluster(cluster: Cluster) -> None:
    """Run initdb with trust authentication and superuser ``postgres``."""
    command = [
        str(cluster.bindir / "initdb"),
        "--pgdata",
        str(cluster.datadir),
        "--username=postgres",
        "--auth=trust",
        "--encoding=UTF8",
        "--locale=C",
        "--no-sync",
    ]
    result = run_as(cluster.owner, command, cluster.root, COMMAND_TIMEOUT_S)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        raise ScriptError(
            f"initdb failed with exit status {result.returncode}: "
            f"{one_line(output)[-1000:]}"
        )


def start_server(cluster: Cluster) -> int:
    """Start the server on a free 127.0.0.1 port and return the port."""
    cluster.socket_dir.mkdir()
    if cluster.owner is not None:
        entry = pwd.getpwnam(cluster.owner)
        os.chown(cluster.socket_dir, entry.pw_uid, entry.pw_gid)

    for attempt in range(1, PORT_ATTEMPTS + 1):
        port = pick_free_port()
        log_offset = log_size(cluster)
        # pg_ctl runs the server through /bin/sh, so quote the socket path.
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} "
            f"-k {shlex.quote(str(cluster.socket_dir))} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        result = pg_ctl(
            cluster,
            "--log",
            str(cluster.logfile),
            "--wait",
            f"--timeout={READY_TIMEOUT_S}",
            "-o",
            options,
            "start",
        )
        if result.returncode == 0:
            return port

        tail = log_tail(cluster, log_offset)
        if "Address already in use" in tail and attempt < PORT_ATTEMPTS:
            log.info("port %s was taken before the server bound it; retrying", port)
            continue
        if tail:
            log.error("server log %s ends with:\n%s", cluster.logfile, tail)
        output = one_line(result.stdout + result.stderr)
        raise ScriptError(
            f"pg_ctl start failed with exit status {result.returncode}: {output}"
        )
    raise AssertionError("unreachable: the last attempt returns or raises")


def wait_until_ready(url: str) -> None:
    """Poll until the server accepts a connection, for at most READY_TIMEOUT_S."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        error = connect_error(url)
        if error is None:
            return
        if time.monotonic() >= deadline:
            raise ScriptError(
                f"the throwaway server did not accept connections within "
                f"{READY_TIMEOUT_S} s: {error}"
            )
        time.sleep(0.2)


def discard_cluster(cluster: Cluster) -> None:
    """Stop a half-started cluster at once and remove its directory."""
    if (cluster.datadir / "postmaster.pid").exists():
        try:
            pg_ctl(cluster, "--mode=immediate", "--wait", "stop")
        except ScriptError as exc:
            log.error("could not stop the half-started server: %s", exc)
    shutil.rmtree(cluster.root, ignore_errors=True)


def start_throwaway_cluster(bindir: Path) -> tuple[str, Path]:
    """Initialise and start a private cluster, returning its URL and data dir."""
    owner = cluster_owner()
    cluster = Cluster(create_cluster_root(owner), bindir, owner)
    log.info(
        "starting a throwaway cluster in %s with %s as user %s",
        cluster.root,
        bindir,
        owner or current_user(),
    )
    try:
        write_marker(cluster)
        init_cluster(cluster)
        port = start_server(cluster)
        url = server_url("127.0.0.1", port, "postgres")
        wait_until_ready(url)
    except BaseException:
        # Also on Ctrl-C: a half-started server must not outlive the script.
        discard_cluster(cluster)
        raise
    log.info("throwaway cluster ready on 127.0.0.1:%s", port)
    return url, cluster.datadir


def stop_throwaway_cluster(datadir: Path) -> None:
    """Stop the cluster in datadir (fast, then immediate) and remove its root."""
    if not datadir.parent.exists():
        log.info("%s is already gone; nothing to stop", datadir.parent)
        return
    cluster = read_marker(datadir)

    # pg_ctl status exits with 0 while a server runs on the data directory.
    if pg_ctl(cluster, "status").returncode == 0:
        result = pg_ctl(cluster, "--mode=fast", "--wait", "stop")
        if result.returncode != 0:
            log.info(
                "fast shutdown failed (%s); trying immediate", one_line(result.stderr)
            )
            result = pg_ctl(cluster, "--mode=immediate", "--wait", "stop")
        if result.returncode != 0:
            raise ScriptError(
                f"pg_ctl stop failed for {datadir}: {one_line(result.stderr)}; "
                f"the directory {cluster.root} was kept"
            )
    shutil.rmtree(cluster.root)
    log.info("stopped the throwaway cluster and removed %s", cluster.root)


# --- Commands -----------------------------------------------------------


def export_line(name: str, value: str) -> str:
    """Format one shell ``export`` line with the value quoted."""
    return f"export {name}={shlex.quote(value)}"


def command_start() -> list[str]:
    """Find or start a server and return the ``export`` lines to print."""
    database_url = os.environ.get("DATABASE_URL")
    if database_url:
        return [export_line("DATABASE_URL", use_database_url(database_url))]

    probe = os.environ.get("WEBHOOKS_PG_PROBE") or DEFAULT_PROBE
    host, port = parse_probe(probe)
    url, errors = find_local_server(host, port)
    if url is not None:
        return [export_line("DATABASE_URL", url)]

    bindir, searched = find_bindir()
    if bindir is None:
        searched_text = ", ".join(str(path) for path in searched) or "nothing"
        raise ScriptError(
            f"no PostgreSQL found: DATABASE_URL is not set, no server at "
            f"{host}:{port} accepted a connection ({errors[0]}), and no "
            f"directory contains "
            f"{', '.join(SERVER_BINARIES)} (searched: {searched_text}). "
            "Install the server with `apt-get install postgresql`, or set "
            "DATABASE_URL to a reachable server.",
            EXIT_NOT_FOUND,
        )

    log.info("no usable server at %s:%s (%s)", host, port, "; ".join(errors))
    url, datadir = start_throwaway_cluster(bindir)
    return [
        export_line("DATABASE_URL", url),
        export_line("WEBHOOKS_PG_THROWAWAY", str(datadir)),
    ]


def command_stop() -> None:
    """Stop the throwaway cluster named by WEBHOOKS_PG_THROWAWAY, if any."""
    datadir = os.environ.get("WEBHOOKS_PG_THROWAWAY")
    if not datadir:
        log.info("WEBHOOKS_PG_THROWAWAY is not set; nothing to stop")
        return
    stop_throwaway_cluster(Path(datadir).absolute())


def exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM into SystemExit, so a half-started cluster is cleaned up."""
    sys.exit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, run the command and return the exit status."""
    parser = argparse.ArgumentParser(
        prog="postgres.py",
        description="Find or start a PostgreSQL server for the test suite.",
    )
    parser.add_argument(
        "command",
        choices=["start", "stop"],
        help="start: print export lines for a server; "
        "stop: stop the throwaway cluster named by WEBHOOKS_PG_THROWAWAY",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="postgres.py: %(message)s")
    signal.signal(signal.SIGTERM, exit_on_sigterm)

    try:
        if args.command == "start":
            print("\n".join(command_start()), flush=True)
        else:
            command_stop()
    except ScriptError as exc:
        log.error("%s", exc)
        return exc.exit_status
    return 0


if __name__ == "__main__":
    sys.exit(main())
