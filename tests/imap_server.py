"""A real IMAP server for tests: Debian's dovecot-imapd on loopback, in a folder of its own.

Runs unprivileged as whoever runs the tests: every service runs as that user and no
chroot is used. Run as root (as in CI containers), Dovecot refuses root for its login and
mail processes, so those run as the package's ``dovenull`` and ``dovecot`` users and
the mail folder is theirs. Plain IMAP and IMAP over TLS (a self-signed certificate made
with ``openssl``; ``ssl_context`` trusts it) listen on free ports.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

USER, PASSWORD = "fbl", "fbl-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DovecotServer:
    host = "127.0.0.1"

    def __init__(self):
        # Not under pytest's tmp_path: when root, the mail user must be able to reach it.
        self.root = Path(tempfile.mkdtemp(prefix="lyimap"))
        self.root.chmod(0o755)
        self.port, self.tls_port = free_port(), free_port()
        self._process: subprocess.Popen | None = None

    def __enter__(self) -> DovecotServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.root / "cert.pem"))
        return context

    def url(self, *, tls: bool = True, folder: str = "INBOX", password: str = PASSWORD) -> str:
        scheme, port = ("imaps", self.tls_port) if tls else ("imap", self.port)
        return f"{scheme}://{USER}:{password}@{self.host}:{port}/{folder}"

    def start(self) -> None:
        if shutil.which("dovecot") is None:
            raise RuntimeError("dovecot is not installed: apt-get install dovecot-imapd (.ci/run does)")
        for folder in ("run", "state", "home"):
            (self.root / folder).mkdir(exist_ok=True)
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
                "-keyout",
                str(self.root / "key.pem"),
                "-out",
                str(self.root / "cert.pem"),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        (self.root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        if os.geteuid() == 0:
            login_user, internal_user = "dovenull", "dovecot"
            mail_uid, mail_gid = pwd.getpwnam("dovecot").pw_uid, grp.getgrnam("dovecot").gr_gid
            os.chown(self.root / "home", mail_uid, mail_gid)
        else:
            login_user = internal_user = pwd.getpwuid(os.geteuid()).pw_name
            mail_uid, mail_gid = os.geteuid(), os.getegid()
        internal_group = grp.getgrgid(pwd.getpwnam(internal_user).pw_gid).gr_name
        (self.root / "dovecot.conf").write_text(f"""
protocols = imap
listen = {self.host}
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.root}/dovecot.log
ssl = yes
ssl_cert = <{self.root}/cert.pem
ssl_key = <{self.root}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
first_valid_uid = {min(mail_uid, 500)}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={self.root}/home/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  chroot =
  inet_listener imap {{
    address = {self.host}
    port = {self.port}
  }}
  inet_listener imaps {{
    address = {self.host}
    port = {self.tls_port}
  }}
}}
service anvil {{
  chroot =
}}
""")
        self._process = subprocess.Popen(
            ["dovecot", "-F", "-c", str(self.root / "dovecot.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"dovecot did not start: {self._process.stderr.read().decode(errors='replace')}")
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as s:
                    if s.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"dovecot did not listen within 60 s; log: {self.log()}")
            time.sleep(0.1)

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=30)
        self._process = None
        shutil.rmtree(self.root, ignore_errors=True)

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        """Deliver a message into a folder, as the mail server would."""
        import imaplib

        connection = imaplib.IMAP4(self.host, self.port, timeout=30)
        try:
            connection.login(USER, PASSWORD)
            if folder != "INBOX":
                connection.create(folder)
            kind, data = connection.append(folder, None, None, raw)
            assert kind == "OK", data
        finally:
            connection.logout()

    def flags(self, folder: str = "INBOX") -> list[bytes]:
        """Each message's flags, in order."""
        import imaplib

        connection = imaplib.IMAP4(self.host, self.port, timeout=30)
        try:
            connection.login(USER, PASSWORD)
            connection.select(folder, readonly=True)
            kind, data = connection.fetch("1:*", "(FLAGS)")
            return [item for item in data if isinstance(item, bytes)]
        finally:
            connection.logout()
