"""Starting and stopping the servers under test: gunicorn (feedsvc + floor) and nginx.

Every server runs in its own process group on 127.0.0.1 and is stopped with the
whole group (SIGTERM, then SIGKILL), so no worker outlives a benchmark run.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bench.floorapp import FLOOR_FILE_ENV, FLOOR_PATH

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_NGINX_CONF = ROOT / "deploy" / "nginx" / "feedsvc.conf"
NGINX_WRAPPER = Path(__file__).resolve().parent / "nginx-wrapper.conf"
NGINX_INSTALL_HINT = "apt-get install -y nginx    (Debian/Ubuntu package 'nginx')"


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, grace_s: float = 10.0) -> None:
        """Stops the process group: SIGTERM, then SIGKILL after `grace_s` seconds."""
        if self.process.poll() is not None:
            return
        for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.process.wait(timeout=wait_s)
                return
            except subprocess.TimeoutExpired:
                continue

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_ready(server: Server, path: str, timeout_s: float = 30.0) -> None:
    """Polls `path` until it answers (any HTTP status); raises with the log otherwise."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited ({server.process.returncode}):\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(server.base_url + path, timeout=5):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{server.name} did not answer within {timeout_s:.0f} s:\n{server.log_tail()}")


def _spawn(name: str, command: list[str], port: int, log: Path, env: dict[str, str] | None = None) -> Server:
    with log.open("ab") as output:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: stop() takes all workers with it
        )
    return Server(name, process, port, log)


def gunicorn_binary() -> str:
    """gunicorn of the running interpreter's environment (the project's .venv)."""
    beside = Path(sys.executable).parent / "gunicorn"
    return str(beside) if beside.exists() else (shutil.which("gunicorn") or "gunicorn")


def start_gunicorn(
    *, database_url: str, floor_file: Path, workdir: Path, workers: int = 2, port: int | None = None
) -> Server:
    """feedsvc with the floor route, as `feedsvc serve` runs it: sync workers, 30 s timeout."""
    port = port or free_port()
    # Only the settings below: a FEEDSVC_* variable of the caller's shell (a poll limit, hubs,
    # another database) would change what is measured.
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith("FEEDSVC_")},
        "FEEDSVC_DATABASE_URL": database_url,
        "FEEDSVC_BASE_URL": f"http://127.0.0.1:{port}",
        "FEEDSVC_SECRET_KEY": "bench-only-secret",
        FLOOR_FILE_ENV: str(floor_file),
    }
    command = [
        gunicorn_binary(),
        "--workers", str(workers),
        "--worker-class", "sync",
        "--bind", f"127.0.0.1:{port}",
        "--timeout", "30",
        "--graceful-timeout", "30",
        "--keep-alive", "5",
        "bench.floorapp:create_app()",
    ]  # fmt: skip
    server = _spawn("gunicorn", command, port, workdir / "gunicorn.log", env)
    try:
        wait_ready(server, FLOOR_PATH)
    except BaseException:
        server.stop()
        raise
    return server


def child_pids(parent: int) -> list[int]:
    children: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Field 4 (ppid) follows the command name, which is in parentheses and may hold spaces.
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            children.append(int(entry.name))
    return sorted(children)


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the most resident memory the process ever had, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time the processes have used so far, in seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / ticks


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(path, os.X_OK)), None
    )


def render_nginx_config(workdir: Path, *, upstream_port: int, proxy_port: int, static_port: int) -> Path:
    """The bench wrapper around the shipped config: its upstream, cache path and listen
    lines pointed at this run's ports and temporary directories, nothing else changed."""
    shipped = SHIPPED_NGINX_CONF.read_text(encoding="utf-8")
    cache_dir = workdir / "nginx-cache"
    replacements = {
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{upstream_port};",
        "/var/cache/nginx/feedsvc": str(cache_dir),
        "listen 80;": f"listen 127.0.0.1:{proxy_port};",
        "listen [::]:80;": "",
    }
    for old, new in replacements.items():
        if shipped.count(old) != 1:
            raise RuntimeError(
                f"{SHIPPED_NGINX_CONF}: expected '{old}' exactly once; update bench/servers.py"
            )
        shipped = shipped.replace(old, new)
    static_dir = workdir / "static"
    for directory in (cache_dir, static_dir, workdir / "nginx-temp"):
        directory.mkdir(parents=True, exist_ok=True)
    (workdir / "feedsvc.conf").write_text(shipped, encoding="utf-8")
    wrapper = NGINX_WRAPPER.read_text(encoding="utf-8")
    for name, value in {"WORKDIR": str(workdir), "STATIC_PORT": str(static_port)}.items():
        wrapper = wrapper.replace("{{" + name + "}}", value)
    config = workdir / "nginx.conf"
    config.write_text(wrapper, encoding="utf-8")
    # nginx workers run as "nobody" when started as root: they must reach these files.
    for path in (workdir, *workdir.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return config


def check_nginx_config(config: Path) -> str | None:
    """None when `nginx -t` accepts the configuration, else its complaint."""
    binary = nginx_binary()
    if binary is None:
        return f"nginx is not installed: {NGINX_INSTALL_HINT}"
    done = subprocess.run(
        [binary, "-t", "-q", "-c", str(config), "-e", str(config.parent / "nginx-error.log")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return None if done.returncode == 0 else (done.stderr or done.stdout)


def start_nginx(config: Path, *, proxy_port: int, static_port: int) -> Server:
    binary = nginx_binary()
    if binary is None:
        raise RuntimeError(f"nginx is not installed: {NGINX_INSTALL_HINT}")
    log = config.parent / "nginx-error.log"
    command = [binary, "-c", str(config), "-e", str(log), "-g", "daemon off;"]
    server = _spawn("nginx", command, proxy_port, config.parent / "nginx.out")
    try:
        wait_ready(server, "/bench-static-probe")
        wait_ready(Server("nginx static", server.process, static_port, log), "/")
    except BaseException:
        server.stop()
        raise
    return server
