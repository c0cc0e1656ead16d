"""Child processes that die with their parent and whose last words can be read back.

The embedded broker (``streams.broker``) starts Tansu and, in s3 mode, the local S3
server as children of the process that asked for them. Two things are wanted of such a
child: it must not outlive that process (a lingering Tansu holds its port, and the next
``vigil broker`` fails with "already in use"), and when it dies on its own the parent
must be able to say how and quote what it wrote last.

The first is the parent-death signal (Linux ``prctl(PR_SET_PDEATHSIG)``): if the process
that started the child dies, even by SIGKILL, the kernel signals the child. On other
systems this protection is absent (stopping the child is still the normal way out). The
second is a log file per child, read back from where this run's output starts.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import IO, Callable, Optional

__all__ = ["ChildProcess", "parent_death_preexec"]

# --- parent-death protection ------------------------------------------------------------

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_prctl: Optional[Callable[..., int]] = None


def _load_prctl() -> Optional[Callable[..., int]]:
    global _prctl
    if _prctl is None and sys.platform.startswith("linux"):
        try:
            fn = ctypes.CDLL(None, use_errno=True).prctl
        except (OSError, AttributeError):
            return None
        fn.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                       ctypes.c_ulong]
        fn.restype = ctypes.c_int
        _prctl = fn
    return _prctl


def parent_death_preexec(sig: int = signal.SIGKILL) -> Optional[Callable[[], None]]:
    """A ``preexec_fn`` that has the kernel send ``sig`` to the child when its parent dies.

    Linux only (``prctl(PR_SET_PDEATHSIG)``); elsewhere ``None``, i.e. no protection.
    Everything that could allocate, import or take a lock (loading libc, resolving
    ``prctl``, reading our pid) happens here, in the parent: the function returned runs
    in the forked child before exec and only makes two system calls and a comparison.
    That is what keeps ``preexec_fn`` acceptable although Python warns about it with
    threads (a forked child of a threaded parent may find a lock held by a thread that
    no longer exists in it; this function takes none). Two caveats of the kernel
    feature itself: the signal follows the *thread* that forked the child, so start
    the broker from a thread that outlives it (the main thread in the CLI, the test
    fixtures and ``vigil run``); and if the parent died between fork and ``prctl``,
    the signal would never come, so the child checks that its parent is still the one
    that started it and exits at once if not.
    """
    prctl = _load_prctl()
    if prctl is None:
        return None
    parent = os.getpid()
    signum = int(sig)

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0)
        if os.getppid() != parent:  # the parent is already gone: re-parented to init
            os._exit(1)  # not os.kill(sig): the child still runs the parent's handlers

    return preexec


# --- one supervised child ---------------------------------------------------------------

class ChildProcess:
    """One supervised process whose output goes to a log file we can read back.

    ``death_signal`` is what the kernel sends it if we die first (see
    ``parent_death_preexec``). Without a ``log_path`` the log is a temporary file,
    unlinked as soon as the child has it open, so nothing is left behind.
    """

    def __init__(self, name: str, cmd: list[str], env: dict[str, str],
                 log_path: Optional[Path], death_signal: int):
        self.name = name
        if log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            self.log_path, self._own_log = log_path, False
        else:
            fd, tmp = tempfile.mkstemp(prefix=f"vigil-{name.split()[0].lower()}-", suffix=".log")
            os.close(fd)
            self.log_path, self._own_log = Path(tmp), True
        self._log: IO[bytes] = self.log_path.open("a+b")  # readable too, for tail()
        self._offset = os.fstat(self._log.fileno()).st_size  # this run's output starts here
        try:
            self.proc = subprocess.Popen(
                cmd, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=env, start_new_session=True,
                preexec_fn=parent_death_preexec(death_signal),
            )
        except BaseException:
            self._log.close()
            raise
        finally:
            if self._own_log:  # nameless from now on: nothing is left behind, even
                self.log_path.unlink(missing_ok=True)  # if we are SIGKILLed

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def tail(self, lines: int = 20) -> str:
        """The last ``lines`` lines this process wrote (stdout and stderr)."""
        if self._log.closed:
            return ""
        fd = self._log.fileno()  # pread: our fd's offset is shared with the child's
        size = os.fstat(fd).st_size
        start = max(self._offset, size - 64 * 1024)
        data = os.pread(fd, size - start, start)
        return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])

    def describe_exit(self, lines: int = 20) -> str:
        code = self.proc.returncode
        if code is None:
            how = "is still running"
        elif code < 0:
            try:
                how = f"was killed by signal {signal.Signals(-code).name}"
            except ValueError:
                how = f"was killed by signal {-code}"
        else:
            how = f"exited with code {code}"
        tail = self.tail(lines)
        where = "" if self._own_log else f" ({self.log_path})"  # a temporary log has no name
        words = f"its last output{where}:\n{tail}" if tail else f"it wrote nothing{where}"
        return f"the {self.name} (pid {self.proc.pid}) {how}; {words}"

    def stop(self, timeout_s: float = 5.0) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout_s)
        self.close()

    def close(self) -> None:
        if not self._log.closed:
            self._log.close()
