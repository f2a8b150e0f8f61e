"""wrk as the load generator: runs it for a fixed time and parses what it prints.

One path is requested as is; several paths are cycled through by a small Lua
script with requests formatted once up front (so Lua costs next to nothing per
request). Extra headers (If-None-Match, Accept-Encoding) go through `-H`.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

INSTALL_HINT = "apt-get install -y wrk    (Debian/Ubuntu package 'wrk')"

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_BYTES = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}
_LATENCY_LINE = re.compile(r"^\s*(50|75|90|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.MULTILINE)
_TOTALS = re.compile(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h), ([\d.]+)(B|KB|MB|GB|TB) read")
_RATE = re.compile(r"Requests/sec:\s+([\d.]+)")
_SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_NON_2XX_3XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")

_LUA_CYCLE = """-- Cycles through the paths below; each thread starts at its own offset.
local paths = {%s}
local requests = {}
local index = 0
local counter = 0

setup = function(thread)
  thread:set("offset", counter)
  counter = counter + 1
end

init = function(args)
  for i, path in ipairs(paths) do
    requests[i] = wrk.format(nil, path)
  end
  index = (offset or 0) * 37 %% #requests
end

request = function()
  index = index %% #requests + 1
  return requests[index]
end
"""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    bytes_read: int
    socket_errors: int
    non_2xx_3xx: int
    # CPU time the server processes spent per request (filled in by the runner).
    cpu_us_per_request: float | None = None

    @property
    def bytes_per_request(self) -> float:
        return self.bytes_read / self.requests if self.requests else 0.0


def wrk_binary() -> str | None:
    return shutil.which("wrk")


def parse_wrk(output: str) -> WrkResult:
    """The figures of one `wrk --latency` run; ValueError when it printed none."""
    totals, rate = _TOTALS.search(output), _RATE.search(output)
    latencies = {
        int(m.group(1)): float(m.group(2)) * _UNITS[m.group(3)] for m in _LATENCY_LINE.finditer(output)
    }
    if totals is None or rate is None or 50 not in latencies or 99 not in latencies:
        raise ValueError(f"could not read wrk's output:\n{output}")
    errors = _SOCKET_ERRORS.search(output)
    non_ok = _NON_2XX_3XX.search(output)
    return WrkResult(
        requests=int(totals.group(1)),
        seconds=float(totals.group(2)) * _UNITS[totals.group(3)] / 1000.0,
        requests_per_s=float(rate.group(1)),
        p50_ms=latencies[50],
        p99_ms=latencies[99],
        bytes_read=int(float(totals.group(4)) * _BYTES[totals.group(5)]),
        socket_errors=sum(int(value) for value in errors.groups()) if errors else 0,
        non_2xx_3xx=int(non_ok.group(1)) if non_ok else 0,
    )


def cycle_script(paths: list[str], directory: Path, name: str = "cycle.lua") -> Path:
    """A Lua script for wrk that requests `paths` round robin."""
    if not paths:
        raise ValueError("no paths to cycle through")
    for path in paths:
        if not path.startswith("/") or any(ch in path for ch in '"\\\n\r '):
            raise ValueError(f"not a plain absolute path: {path!r}")
    script = directory / name
    script.write_text(_LUA_CYCLE % ", ".join(f'"{path}"' for path in paths), encoding="utf-8")
    return script


def run_wrk(
    url: str,
    *,
    duration: float,
    connections: int = 8,
    threads: int = 1,
    headers: dict[str, str] | None = None,
    script: Path | None = None,
    timeout_s: float = 5.0,
) -> WrkResult:
    """Loads `url` (scheme://host:port/path) for `duration` seconds; loopback only."""
    if not url.startswith(("http://127.0.0.1:", "http://localhost:", "http://[::1]:")):
        raise ValueError(f"the benchmark only loads loopback addresses, not {url}")
    binary = wrk_binary()
    if binary is None:
        raise RuntimeError(f"wrk is not installed: {INSTALL_HINT}")
    seconds = max(1, round(duration))
    command = [
        binary,
        f"-t{max(1, min(threads, connections))}",
        f"-c{connections}",
        f"-d{seconds}s",
        f"--timeout={timeout_s:g}s",
        "--latency",
    ]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if script is not None:
        command += ["-s", str(script)]
    command.append(url)
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse_wrk(done.stdout)
