"""gunicorn's access lines only when asked for (digest/ops/gunicorn_logs.py): lanyard
always hands gunicorn a logging configuration, which alone made it build an access
line for every request and throw it away."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from gunicorn.config import Config

from digest.config import load_settings
from digest.ops.gunicorn_logs import AccessOnRequestLogger
from digest.ops.logs import logging_config
from tests.conftest import TEST_SECRET


def configured(**settings) -> Config:
    cfg = Config()
    cfg.set("logconfig_dict", logging_config(load_settings({"LANYARD_SECRET_KEYS": TEST_SECRET}), service="test"))
    for name, value in settings.items():
        cfg.set(name, value)
    return cfg


def log_one_request(logger: AccessOnRequestLogger) -> None:
    response = SimpleNamespace(status="200 OK", headers=[], sent=12, response_length=12)
    request = SimpleNamespace(headers=[], method="POST", path="/u/secret-token", query="", version=(1, 1),
                              peer_addr=("127.0.0.1", 5000))
    environ = {"REMOTE_ADDR": "127.0.0.1", "REQUEST_METHOD": "POST", "RAW_URI": "/u/secret-token",
               "SERVER_PROTOCOL": "HTTP/1.1"}
    logger.access(response, request, environ, dt.timedelta(milliseconds=3))


def test_without_an_access_log_no_line_is_built(monkeypatch):
    logger = AccessOnRequestLogger(configured())
    built = []
    monkeypatch.setattr(logger, "atoms", lambda *args: built.append(args) or {})
    log_one_request(logger)
    assert not logger.access_log_enabled and built == []


def test_an_access_log_asked_for_gets_its_lines(tmp_path):
    path = tmp_path / "access.log"
    logger = AccessOnRequestLogger(configured(accesslog=str(path), access_log_format='%(h)s "%(m)s" %(s)s'))
    log_one_request(logger)
    for handler in logger.access_log.handlers:
        handler.flush()
    assert logger.access_log_enabled
    assert path.read_text().strip() == '127.0.0.1 "POST" 200'
