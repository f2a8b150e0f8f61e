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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.floorapp import FLOOR_FILE_ENV, FLOOR_PATH
from bench.gunicorn_ready import READY_FILE_ENV
from feedsvc.cli import serve

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_NGINX_CONF = ROOT / "deploy" / "nginx" / "feedsvc.conf"
NGINX_WRAPPER = Path(__file__).resolve().parent / "nginx-wrapper.conf"
NGINX_INSTALL_HINT = "apt-get install -y nginx libnginx-mod-http-cache-purge    (Debian/Ubuntu packages)"
# The dynamic module deploy/nginx/feedsvc.conf needs, where Debian's package puts it.
CACHE_PURGE_MODULE = "ngx_http_cache_purge_module.so"
NGINX_MODULE_DIRS = ("/usr/lib/nginx/modules", "/usr/local/lib/nginx/modules", "/etc/nginx/modules")


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
    *,
    database_url: str,
    floor_file: Path,
    workdir: Path,
    workers: int = 2,
    threads: int = serve.ServerOptions.threads,
    port: int | None = None,
) -> Server:
    """feedsvc with the floor routes, run by `feedsvc serve` itself (`bench/floorserve.py`):
    gthread workers with client socket timeouts, warmed up, metrics in multiprocess mode;
    no delivery worker (the benchmark purges as the worker would)."""
    port = port or free_port()
    # Only the settings below: a FEEDSVC_* variable of the caller's shell (hubs,
    # another database) would change what is measured, and so would GUNICORN_CMD_ARGS.
    env = {
        **{
            name: value
            for name, value in os.environ.items()
            if not name.startswith("FEEDSVC_") and name != "GUNICORN_CMD_ARGS"
        },
        "FEEDSVC_DATABASE_URL": database_url,
        "FEEDSVC_BASE_URL": f"http://127.0.0.1:{port}",
        "FEEDSVC_SECRET_KEY": "bench-only-secret",
        FLOOR_FILE_ENV: str(floor_file),
    }
    command = [
        sys.executable, "-m", "bench.floorserve", "--no-worker",
        "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(workers), "--threads", str(threads),
    ]  # fmt: skip
    server = _spawn("feedsvc serve", command, port, workdir / "gunicorn.log", env)
    try:
        wait_ready(server, FLOOR_PATH, timeout_s=60.0)
    except BaseException:
        server.stop()
        raise
    return server


READY_HOOKS = Path(__file__).resolve().parent / "gunicorn_ready.py"


def start_fresh_gunicorn(
    app_uri: str, *, env: dict[str, str], workdir: Path, port: int | None = None, timeout_s: float = 120.0
) -> Server:
    """One worker of `app_uri` with the worker class, threads and timeouts of `feedsvc serve`,
    returned once the worker has loaded its app (`gunicorn_ready.py`) and before it has
    answered anything."""
    port = port or free_port()
    ready = workdir / f"ready-{port}"
    ready.unlink(missing_ok=True)
    command = [
        gunicorn_binary(),
        "--config", str(READY_HOOKS),
        "--workers", "1",
        "--worker-class", serve.CLIENT_TIMEOUT_WORKER,
        "--threads", str(serve.ServerOptions.threads),
        "--bind", f"127.0.0.1:{port}",
        "--timeout", str(serve.ServerOptions.timeout),
        "--graceful-timeout", str(serve.ServerOptions.timeout),
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


def cache_purge_module() -> Path | None:
    """ngx_cache_purge's shared object, if it is installed."""
    return next(
        (
            found
            for directory in NGINX_MODULE_DIRS
            if (found := Path(directory) / CACHE_PURGE_MODULE).exists()
        ),
        None,
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
    module = cache_purge_module()
    values = {
        "WORKDIR": str(workdir),
        "STATIC_PORT": str(static_port),
        # Without the module `nginx -t` names the unknown directive: check_nginx_config says so.
        "LOAD_MODULES": f"load_module {module};" if module else "",
    }
    for name, value in values.items():
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


def render_vcl(workdir: Path, *, backend_ports: Sequence[int]) -> Path:
    """The shipped VCL with its backend pointed at this run's app server, nothing else changed.
    With two app servers: the file that the shipped VCL's comments show for several app
    servers, taken from those comments (the shipped VCL included, then a second backend for
    its round-robin director), so that what is tested is what the comments say."""
    shipped = SHIPPED_VCL.read_text(encoding="utf-8")
    old = '\n    .port = "8000";'  # the backend's own line (the comments' example has one too)
    if shipped.count(old) != 1:
        raise RuntimeError(f"{SHIPPED_VCL}: expected {old!r} exactly once; update bench/servers.py")
    if not 1 <= len(backend_ports) <= 2:
        raise ValueError(f"one or two app servers, not {len(backend_ports)}")
    workdir.mkdir(parents=True, exist_ok=True)
    vcl = workdir / "feedsvc.vcl"
    vcl.write_text(shipped.replace(old, f'\n    .port = "{backend_ports[0]}";'), encoding="utf-8")
    if len(backend_ports) == 1:
        return vcl
    example = _several_app_servers_example(shipped)
    replacements = [
        ('"/etc/varnish/feedsvc.vcl"', f'"{vcl}"'),
        ('"10.0.0.12"', '"127.0.0.1"'),
        ('"8000"', f'"{backend_ports[1]}"'),
    ]
    for text, replacement in replacements:
        if example.count(text) != 1:
            raise RuntimeError(f"{SHIPPED_VCL}: its example names {text} not once; update bench/servers.py")
        example = example.replace(text, replacement)
    site = workdir / "site.vcl"
    site.write_text(example, encoding="utf-8")
    return site


def _several_app_servers_example(shipped: str) -> str:
    """The indented example in the shipped VCL's comments: from `vcl 4.1;` to the empty
    comment line after it."""
    lines = shipped.splitlines()
    prefix = "#     "
    try:
        first = lines.index(prefix + "vcl 4.1;")
        last = next(n for n in range(first, len(lines)) if not lines[n].startswith(prefix)) - 1
    except (ValueError, StopIteration) as missing:
        raise RuntimeError(
            f"{SHIPPED_VCL}: no example for several app servers; update bench/servers.py"
        ) from missing
    return "\n".join(line.removeprefix(prefix) for line in lines[first : last + 1]) + "\n"


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


def start_feedsvc(
    *, env: dict[str, str], port: int, log: Path, workers: int = 2, delivery_worker: bool = True
) -> Server:
    """`feedsvc serve` (gunicorn, gthread workers, and the delivery worker beside it unless
    `delivery_worker` is False) on 127.0.0.1:`port` with exactly `env`."""
    command = [
        sys.executable, "-m", "feedsvc.__main__", "serve",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        *([] if delivery_worker else ["--no-worker"]),
    ]  # fmt: skip
    server = _spawn("feedsvc serve", command, port, log, env)
    try:
        wait_ready(server, "/healthz", timeout_s=60.0)
    except BaseException:
        server.stop()
        raise
    return server


def start_worker(*, env: dict[str, str], log: Path) -> Server:
    """`feedsvc worker` (the delivery worker alone) with exactly `env`; it listens on no port."""
    command = [sys.executable, "-m", "feedsvc.__main__", "worker"]
    server = _spawn("feedsvc worker", command, 0, log, env)
    time.sleep(0.2)
    if server.process.poll() is not None:
        raise RuntimeError(f"feedsvc worker exited ({server.process.returncode}):\n{server.log_tail()}")
    return server
