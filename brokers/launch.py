"""`python -m brokers launch <id>=<fd> ... [--practice-clock]`: several brokers from one start-up, each its own process.

The local console starts both of its brokers this way on Linux. This process imports what every broker needs once
(the MCP server, SQLAlchemy, the engine: most of a broker's start-up), then forks one process per broker. Each child
is exactly `python -m brokers serve <id>` on stdio, its stdin and stdout being the socket `<fd>` it was handed (the
other end stays with the caller), in a session of its own: its own MCP server, its own database, ended on its own.
It reports `<id> <pid>` on this process's stdout; this process waits for its children, then exits.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import traceback


def launch(channels: list[tuple[str, int]], practice_clock: bool, log_level: str) -> int:
    from brokers.__main__ import _serve
    from brokers.profiles import get_profile
    from brokers.runtime import open_engine  # noqa: F401  (the shared imports: what each fork no longer pays for)
    from brokers.server import build_server  # noqa: F401
    from brokers.symbols import get_directory

    for broker_id, _ in channels:
        get_profile(broker_id)  # an unknown id fails here, once, before anything forks
    get_directory()
    children: dict[int, str] = {}
    for broker_id, fd in channels:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the broker: nothing of this loop survives in it but its own channel
            code = 1
            try:
                os.setsid()
                os.dup2(fd, 0)
                os.dup2(fd, 1)
                for _, other in channels:
                    os.close(other)
                code = _serve(argparse.Namespace(broker=broker_id, transport="stdio", practice_clock=practice_clock,
                                                 log_level=log_level, host=None, port=None))
            except BaseException:  # noqa: BLE001  (a child never returns into the launcher's loop)
                traceback.print_exc()
            finally:
                with contextlib.suppress(Exception):
                    sys.stdout.flush()
                os._exit(code)
        children[pid] = broker_id
        print(f"{broker_id} {pid}", flush=True)
    for _, fd in channels:
        os.close(fd)
    sys.stdout.flush()  # the caller has every pid: end of report (fd 1 now reads as /dev/null)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    worst = 0
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        children.pop(pid, None)
        worst = max(worst, os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1)
    return worst


def parse_channel(text: str) -> tuple[str, int]:
    broker_id, _, fd = text.partition("=")
    if not broker_id or not fd.isdigit():
        raise argparse.ArgumentTypeError(f"expected <broker id>=<fd>, got {text!r}")
    return broker_id, int(fd)
