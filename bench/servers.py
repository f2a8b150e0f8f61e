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
from bench.gunicorn_ready import READY_FILE_ENV

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
    # Only the settings below: a FEEDSVC_* variable of the caller's shell (hubs,
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


READY_HOOKS = Path(__file__).resolve().parent / "gunicorn_ready.py"


def start_fresh_gunicorn(
    app_uri: str, *, env: dict[str, str], workdir: Path, port: int | None = None, timeout_s: float = 120.0
) -> Server:
    """One sync worker of `app_uri`, with the settings of `start_gunicorn`, returned once the
    worker has loaded its app (`gunicorn_ready.py`) and before it has answered anything."""
    port = port or free_port()
    ready = workdir / f"ready-{port}"
    ready.unlink(missing_ok=True)
    command = [
        gunicorn_binary(),
        "--config", str(READY_HOOKS),
        "--workers", "1",
        "--worker-class", "sync",
        "--bind", f"127.0.0.1:{port}",
        "--timeout", "30",
        "--graceful-timeout", "30",
        "--keep-alive", "5",
        app_uri,
    ]  # fmt: skip
    server = _spawn(
        "gunicorn", command, port, workdir / "gunicorn-fresh.log", {**env, READY_FILE_ENV: str(ready)}
    )
    deadline = time.monotonic() + timeout_s
    try:
        while not ready.exists():
            if server.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({server.process.returncode}):\n{server.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn's worker did not start within {timeout_s:.0f} s")
            time.sleep(0.02)
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
    # (text, how often the shipped config has it, what it becomes)
    replacements = [
        ("server 127.0.0.1:8000;", 1, f"server 127.0.0.1:{upstream_port};"),
        ("/var/cache/nginx/feedsvc", 1, str(cache_dir)),
        ("listen 80;", 1, f"listen 127.0.0.1:{proxy_port};"),
        ("listen [::]:80;", 1, ""),
        ("unix:/run/nginx-feedsvc-stamp.sock", 2, f"unix:{workdir / 'nginx-stamp.sock'}"),
    ]
    for old, count, new in replacements:
        if shipped.count(old) != count:
            raise RuntimeError(
                f"{SHIPPED_NGINX_CONF}: expected '{old}' {count} time(s); update bench/servers.py"
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


SHIPPED_VCL = ROOT / "deploy" / "varnish" / "feedsvc.vcl"
VARNISH_INSTALL_HINT = "apt-get install -y varnish varnish-modules    (Debian/Ubuntu packages)"


def varnishd_binary() -> str | None:
    return shutil.which("varnishd") or next(
        (path for path in ("/usr/sbin/varnishd", "/usr/local/sbin/varnishd") if os.access(path, os.X_OK)),
        None,
    )


def render_vcl(workdir: Path, *, backend_port: int) -> Path:
    """The shipped VCL with its backend pointed at this run's app server, nothing else changed."""
    shipped = SHIPPED_VCL.read_text(encoding="utf-8")
    old = '.port = "8000";'
    if shipped.count(old) != 1:
        raise RuntimeError(f"{SHIPPED_VCL}: expected '{old}' exactly once; update bench/servers.py")
    workdir.mkdir(parents=True, exist_ok=True)
    vcl = workdir / "feedsvc.vcl"
    vcl.write_text(shipped.replace(old, f'.port = "{backend_port}";'), encoding="utf-8")
    return vcl


def check_vcl(vcl: Path) -> str | None:
    """None when varnishd compiles the VCL (vmods found), else its complaint."""
    binary = varnishd_binary()
    if binary is None:
        return f"varnishd is not installed: {VARNISH_INSTALL_HINT}"
    done = subprocess.run(
        [binary, "-C", "-j", "none", "-f", str(vcl), "-n", str(vcl.parent / "varnish-check")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode == 0:
        return None
    # -C prints the generated C code on success; on failure only the message matters.
    return "\n".join(done.stderr.strip().splitlines()[-12:]) or done.stdout


# Varnish's shared-memory log records every header of every request; the benchmark's nginx logs
# nothing either (access_log off), so for load runs Varnish keeps only its error records.
QUIET_VSL_MASK = (
    "-ReqStart,-ReqMethod,-ReqURL,-ReqProtocol,-ReqHeader,-ReqUnset,-ReqAcct,-RespProtocol,-RespStatus,"
    "-RespReason,-RespHeader,-RespUnset,-BereqHeader,-BereqUnset,-BerespHeader,-BerespUnset,-ObjHeader,"
    "-ObjProtocol,-ObjStatus,-ObjReason,-Timestamp,-VCL_call,-VCL_return,-Hash,-Hit,-Link,-Storage"
)


def start_varnish(
    vcl: Path, *, port: int, memory: str = "256m", ready_path: str = "/healthz", quiet: bool = False
) -> Server:
    """varnishd in the foreground, its working directory beside the VCL, on 127.0.0.1:`port`.

    `-j none`: no privilege separation, so the same command works as root and as anybody;
    `-T none`: no management port (nothing here needs one); `quiet`: `QUIET_VSL_MASK`."""
    binary = varnishd_binary()
    if binary is None:
        raise RuntimeError(f"varnishd is not installed: {VARNISH_INSTALL_HINT}")
    workdir = vcl.parent
    command = [
        binary, "-F", "-j", "none", "-T", "none",
        "-n", str(workdir / "varnish"),
        "-a", f"127.0.0.1:{port}",
        "-f", str(vcl),
        "-s", f"malloc,{memory}",
        *(["-p", f"vsl_mask={QUIET_VSL_MASK}"] if quiet else []),
    ]  # fmt: skip
    server = _spawn("varnishd", command, port, workdir / "varnishd.log")
    try:
        wait_ready(server, ready_path, timeout_s=60.0)
    except BaseException:
        server.stop()
        raise
    return server


def start_feedsvc(*, env: dict[str, str], port: int, log: Path, workers: int = 2) -> Server:
    """`feedsvc serve` (gunicorn, sync workers) on 127.0.0.1:`port` with exactly `env`."""
    command = [
        sys.executable, "-m", "feedsvc.__main__", "serve",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
    ]  # fmt: skip
    server = _spawn("feedsvc serve", command, port, log, env)
    try:
        wait_ready(server, "/healthz", timeout_s=60.0)
    except BaseException:
        server.stop()
        raise
    return server
