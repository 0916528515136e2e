"""Start lanyard's Solr runner (``search-solr/``): a standalone Solr or a two-node SolrCloud
from Solr's Maven artifacts, for the tests, ``bench/search.py`` and ``lanyard solr serve``;
or, one JVM each, a SolrCloud's ZooKeeper ("zk") and its nodes ("node", joining the ZooKeeper
at ``zk``), so that a test can SIGKILL a node (``tests/solr_nodes.py``).

Maven builds it once (``mvn -q -f search-solr/pom.xml -DskipTests package``: the classes
and every jar under ``search-solr/target``); after that it starts with plain ``java``,
no Maven. The runner prints one ``LANYARD_SOLR {json}`` line once every core answers;
:func:`start_solr` waits for it with a deadline. With ``control`` its stdin takes
"stop I" / "start I" lines (a test stopping one SolrCloud node), and it exits when its
stdin closes, so a runner never outlives the process that started it.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import digest.search

ROOT = Path(digest.search.__file__).resolve().parents[2]
PROJECT = ROOT / "search-solr"
CONF = Path(digest.search.__file__).resolve().parent / "solr" / "conf"
READY = "LANYARD_SOLR "
MAIN = "lanyard.solr.Runner"
# Lean JVMs: the test machines have two cores shared by much else. Serial GC and C1
# only start fastest; ``jvm_flags`` takes others (the bench wants the C2 compiler).
JVM_FLAGS = ("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss512k")
# How long a runner may take to answer: Maven's first build and a JVM start on a loaded 2-core machine.
READY_DEADLINE = 240.0  # seconds
HEAP = {"standalone": "384m", "cloud": "512m", "zk": "192m", "node": "384m"}


class RunnerError(RuntimeError):
    """The runner cannot start here (no Java 17, no Maven, no build) or did not get ready."""


def requirements_missing() -> str | None:
    """One line saying what this machine lacks to run Solr from Maven, or None."""
    if shutil.which("java") is None:
        return "the Solr runner needs Java 17 or later (`java` is not on PATH)"
    if not (PROJECT / "target" / "classes").is_dir() and shutil.which("mvn") is None:
        return "the Solr runner needs Maven to build it once (`mvn` is not on PATH)"
    if not PROJECT.is_dir():
        return f"the Solr runner's project is not here ({PROJECT}); run from a lanyard checkout"
    return None


def build(*, timeout: float = 900) -> None:
    """Compile the runner and copy its jars when not done yet, or when a source or the pom
    changed since (Maven; a no-op otherwise)."""
    built = PROJECT / "target" / "classes" / "lanyard" / "solr" / "Runner.class"
    sources = [PROJECT / "pom.xml", *(PROJECT / "src").rglob("*.*")]
    if built.is_file() and (PROJECT / "target" / "lib").is_dir() and all(
        source.stat().st_mtime <= built.stat().st_mtime for source in sources
    ):
        return
    problem = requirements_missing()
    if problem:
        raise RunnerError(problem)
    result = subprocess.run(
        ["mvn", "-q", "-f", str(PROJECT / "pom.xml"), "-DskipTests", "package"],
        capture_output=True, text=True, timeout=timeout, check=False,
    )
    if result.returncode:
        tail = (result.stdout + result.stderr).strip().splitlines()[-5:]
        raise RunnerError("building the Solr runner failed (mvn package): " + " / ".join(tail))


def command(mode: str, workdir: Path, *, port: int = 0, jvm_flags: tuple[str, ...] = JVM_FLAGS,
            control: bool = True, zk: str = "") -> list[str]:
    classpath = f"{PROJECT / 'target' / 'classes'}{os.pathsep}{PROJECT / 'target' / 'lib' / '*'}"
    argv = ["java", f"-Xmx{HEAP[mode]}", *jvm_flags, "-cp", classpath, MAIN, mode,
            "--conf", str(CONF), "--dir", str(workdir), "--port", str(port)]
    if zk:
        argv += ["--zk", zk]
    return [*argv, "--control"] if control else argv


@dataclass
class SolrRunner:
    """A running runner: its URLs (the core or alias on every node) and its process."""

    mode: str
    urls: tuple[str, ...]
    zk: str
    process: subprocess.Popen
    log: Path
    _lines: queue.Queue = field(repr=False)

    @property
    def url(self) -> str:
        """What LANYARD_SEARCH_URL takes: every node's URL, comma-separated."""
        return ",".join(self.urls)

    @property
    def base_urls(self) -> tuple[str, ...]:
        """Each node's Solr root (…/solr), for admin requests."""
        return tuple(u.rsplit("/", 1)[0] for u in self.urls)

    def _say(self, line: str, expect: str, deadline: float) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        answer = _next_line(self._lines, deadline, self)
        if answer != expect:
            raise RunnerError(f"the Solr runner answered {answer!r} to {line!r}")

    def stop_node(self, index: int, *, deadline: float = 120) -> None:
        self._say(f"stop {index}", f"stopped {index}", deadline)

    def start_node(self, index: int, *, deadline: float = 180) -> None:
        self._say(f"start {index}", f"started {index}", deadline)

    def close(self, *, deadline: float = 60) -> None:
        """Stop it cleanly (stdin closed, then SIGTERM), killing it past the deadline."""
        if self.process.poll() is None and self.process.stdin is None:
            self.process.terminate()  # no control channel: SIGTERM stops it cleanly
        if self.process.poll() is None:
            if self.process.stdin is not None:
                try:
                    self.process.stdin.close()
                except BrokenPipeError:
                    pass
            try:
                self.process.wait(timeout=deadline / 2)
            except subprocess.TimeoutExpired:
                self.process.terminate()
                try:
                    self.process.wait(timeout=deadline / 2)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()

    def __enter__(self) -> SolrRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _pump(stream: IO[str], lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))
    lines.put(None)


def _next_line(lines: queue.Queue, deadline: float, runner: SolrRunner | None = None,
               log: Path | None = None) -> str:
    try:
        line = lines.get(timeout=deadline)
    except queue.Empty:
        raise RunnerError(f"the Solr runner did not answer within {deadline:.0f}s{_log_tail(log or runner)}") from None
    if line is None:
        raise RunnerError(f"the Solr runner exited{_log_tail(log or runner)}")
    return line


def _log_tail(where: Path | SolrRunner | None) -> str:
    path = where.log if isinstance(where, SolrRunner) else where
    if path is None or not path.is_file():
        return ""
    tail = path.read_text(errors="replace").strip().splitlines()[-3:]
    return (": " + " / ".join(tail)) if tail else ""


def start_solr(mode: str, workdir: Path, *, port: int = 0, jvm_flags: tuple[str, ...] = JVM_FLAGS,
               control: bool = True, zk: str = "") -> SolrRunner:
    """Start the runner in ``mode`` ("standalone", "cloud", "zk", or "node" joining the
    ZooKeeper ``zk``) and wait until it is ready (at most ``READY_DEADLINE``). A node
    restarted on the same ``workdir`` and ``port`` finds its cores again (its log is
    appended to)."""
    if mode not in HEAP:
        raise ValueError(f"mode must be one of {', '.join(HEAP)}, not {mode!r}")
    if (mode == "node") != bool(zk):
        raise ValueError("a node, and only a node, takes the ZooKeeper address (zk)")
    build()
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "solr.log"
    with log.open("a") as stderr:
        process = subprocess.Popen(
            command(mode, workdir / "solr", port=port, jvm_flags=jvm_flags, control=control, zk=zk),
            stdin=subprocess.PIPE if control else subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr,
            text=True, bufsize=1,
        )
    lines: queue.Queue = queue.Queue()
    assert process.stdout is not None
    threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True, name="solr-runner-out").start()
    end = time.monotonic() + READY_DEADLINE
    try:
        while True:
            line = _next_line(lines, max(0.0, end - time.monotonic()), log=log)
            if line.startswith(READY):
                ready = json.loads(line[len(READY):])
                break
    except BaseException:
        process.kill()
        process.wait()
        raise
    return SolrRunner(mode=ready["mode"], urls=tuple(ready["urls"]), zk=ready["zk"], process=process, log=log,
                      _lines=lines)
