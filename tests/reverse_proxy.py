"""Debian's nginx running deploy/nginx/dvorik.conf on loopback, with a certificate of our own.

The site file is used as shipped, with only what an operator's host gives it
swapped for the test's: the listen ports (loopback, no IPv6), the upstream's
port, the certificate paths, the ACME web root and the log directory. Each
swap must find its text, so a reshaped site file fails here loudly instead of
being tested half-rendered. It is included the way Debian includes a site:
into Debian's own /etc/nginx/nginx.conf (its pid, log and temp paths moved
into the test's directory), so a directive clashing with Debian's http-level
settings fails the test as it would fail `nginx -t` on a server.

The certificate is a throwaway CA and a leaf for 127.0.0.1 made with the
`openssl` command; clients verify against that CA. With CI=true a missing
`nginx` or `openssl` fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import re
import shutil
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.databases import in_ci
from tests.processes import ROOT

SITE = ROOT / "deploy" / "nginx" / "dvorik.conf"
HOST = "dvorik.example.ru"
DEBIAN_MAIN = Path("/etc/nginx/nginx.conf")
TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def tool(name: str, *fallbacks: str) -> str:
    """The path of a command the test drives; skipped without it, failed under CI=true."""
    path = shutil.which(name) or next((p for p in fallbacks if os.access(p, os.X_OK)), None)
    if path is None:
        message = f"{name} is not installed: run .ci/install-tools"
        if in_ci():
            pytest.fail(message + " (CI=true: the nginx tests must run)", pytrace=False)
        pytest.skip(message)
    return path


def nginx() -> str:
    return tool("nginx", "/usr/sbin/nginx")


@dataclass(frozen=True)
class Certificate:
    ca: Path
    chain: Path
    key: Path

    def client_context(self) -> ssl.SSLContext:
        """What a client that trusts only the test's CA uses."""
        return ssl.create_default_context(cafile=str(self.ca))


LEAF_EXTENSIONS = """\
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
subjectAltName=DNS:dvorik.test,IP:127.0.0.1
"""


def make_certificate(directory: Path) -> Certificate:
    """A CA and a leaf for 127.0.0.1 signed by it (P-256 keys: fast to make)."""
    openssl = tool("openssl")
    directory.mkdir(parents=True, exist_ok=True)
    ca, ca_key = directory / "ca.pem", directory / "ca.key"
    chain, key, request = directory / "fullchain.pem", directory / "privkey.pem", directory / "csr"
    extensions = directory / "leaf.ext"
    extensions.write_text(LEAF_EXTENSIONS)
    new_key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    commands: list[list[str | Path]] = [
        [openssl, "req", "-x509", *new_key, "-keyout", ca_key, "-out", ca, "-days", "2",
         "-subj", "/CN=Dvorik test CA", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign"],
        [openssl, "req", *new_key, "-keyout", key, "-out", request, "-subj", "/CN=dvorik.test"],
        [openssl, "x509", "-req", "-in", request, "-CA", ca, "-CAkey", ca_key, "-set_serial",
         "1", "-days", "2", "-extfile", extensions, "-out", chain],
    ]  # fmt: skip
    for command in commands:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, f"{command[1]}: {done.stderr}"
    return Certificate(ca, chain, key)


@dataclass(frozen=True)
class Layout:
    """Where the rendered site listens, proxies to and keeps its files."""

    directory: Path
    http_port: int
    https_port: int
    api_port: int
    certificate: Certificate

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def webroot(self) -> Path:
        return self.directory / "letsencrypt"

    @property
    def logs(self) -> Path:
        return self.directory / "logs"

    @property
    def main_conf(self) -> Path:
        return self.directory / "nginx.conf"


def swap(text: str, old: str, new: str) -> str:
    assert old in text, f"{SITE.name} no longer contains {old!r}: update tests/reverse_proxy.py"
    return text.replace(old, new)


def render_site(layout: Layout) -> str:
    """deploy/nginx/dvorik.conf with this machine's ports and paths."""
    live = f"/etc/letsencrypt/live/{HOST}"
    swaps = {
        "listen 80;": f"listen 127.0.0.1:{layout.http_port};",
        "listen [::]:80;": "",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{layout.https_port} ssl http2;",
        "listen [::]:443 ssl http2;": "",
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{layout.api_port};",
        f"{live}/fullchain.pem": str(layout.certificate.chain),
        f"{live}/privkey.pem": str(layout.certificate.key),
        "/var/www/letsencrypt": str(layout.webroot),
        "/var/log/nginx/": f"{layout.logs}/",
    }
    text = SITE.read_text()
    for old, new in swaps.items():
        text = swap(text, old, new)
    return text


def render_main(layout: Layout, site: Path) -> str:
    """Debian's nginx.conf including `site`, with its paths in the test's directory.

    Without Debian's file (a developer's other system), a minimal main file.
    """
    temp = "\n".join(f"{name}_temp_path {layout.directory / name};" for name in TEMP_PATHS)
    include = f"{temp}\ninclude {site};"
    # As root, workers run as root too: the test's directory is private to its owner.
    user = "user root;" if os.geteuid() == 0 else ""
    if not DEBIAN_MAIN.exists():
        return (
            f"{user}\nworker_processes 1;\npid {layout.directory / 'nginx.pid'};\n"
            f"error_log {layout.logs / 'error.log'};\nevents {{}}\nhttp {{\n{include}\n}}\n"
        )
    rules = [
        (r"^[ \t]*user\s[^;]*;", user),
        (r"^[ \t]*worker_processes\s[^;]*;", "worker_processes 1;"),
        (r"^[ \t]*pid\s[^;]*;", f"pid {layout.directory / 'nginx.pid'};"),
        (r"^[ \t]*error_log\s[^;]*;", f"error_log {layout.logs / 'error.log'};"),
        (r"^[ \t]*access_log\s[^;]*;", f"access_log {layout.logs / 'access.log'};"),
        (r"^[ \t]*include\s+/etc/nginx/conf\.d/[^;]*;", ""),
        (r"^[ \t]*include\s+/etc/nginx/sites-enabled/[^;]*;", include),
    ]
    text = DEBIAN_MAIN.read_text()
    for pattern, replacement in rules:
        literal = replacement.replace("\\", "\\\\")  # paths, not group references
        text, found = re.subn(pattern, literal, text, flags=re.MULTILINE)
        assert found, f"{DEBIAN_MAIN} has no line like {pattern!r}"
    return text


def write_configuration(layout: Layout) -> Path:
    """The rendered site and main file on disk; returns the main file for `nginx -c`."""
    layout.logs.mkdir(parents=True, exist_ok=True)
    layout.webroot.mkdir(parents=True, exist_ok=True)
    site = layout.directory / "dvorik.conf"
    site.write_text(render_site(layout))
    layout.main_conf.write_text(render_main(layout, site))
    return layout.main_conf


def check_configuration(main_conf: Path) -> subprocess.CompletedProcess[str]:
    """`nginx -t` on the rendered configuration."""
    return subprocess.run(
        [nginx(), "-t", "-c", str(main_conf)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def nginx_command(main_conf: Path) -> list[str]:
    """nginx in the foreground (the test stops it), on the rendered configuration."""
    return [nginx(), "-c", str(main_conf), "-g", "daemon off;"]
