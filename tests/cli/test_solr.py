"""`lanyard solr serve` as a user runs it: a real process starting Solr from Maven's jars,
answering on the URL it prints, stopped by SIGTERM; a machine without Java is told so in
one line."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading

from digest.search.solr_index import SolrIndex
from tests.cli.test_cli import LANYARD, assert_one_clear_line, run
from tests.conftest import TEST_SECRET

DEADLINE = 240  # seconds for Solr to be ready on a loaded machine


def env_for(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANYARD_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return {**env, "LANYARD_DATA_DIR": str(tmp_path / "var"), "LANYARD_SECRET_KEYS": TEST_SECRET, **extra}


def test_serve_prints_a_url_that_answers_and_stops_on_sigterm(tmp_path):
    process = subprocess.Popen([*LANYARD, "solr", "serve", "--port", "0"], env=env_for(tmp_path),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    try:
        url = None
        while url is None:
            line = lines.get(timeout=DEADLINE)
            if line.startswith("LANYARD_SEARCH_URL="):
                url = line.strip().split("=", 1)[1]
        index = SolrIndex(url)
        assert index.document_count() == 0
        index.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=120) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "Traceback" not in process.stderr.read()
    assert not subprocess.run(["pgrep", "-f", f"--dir {tmp_path}"], capture_output=True).stdout  # Solr stopped too


def test_serve_without_java_is_one_line(tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    result = run(["solr", "serve"], {"LANYARD_DATA_DIR": str(tmp_path / "var"), "LANYARD_SECRET_KEYS": TEST_SECRET,
                                     "PATH": str(empty)})
    assert_one_clear_line(result, 1, "the Solr runner needs Java 17", "install Java 17 and Maven")
