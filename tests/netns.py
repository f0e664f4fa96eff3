"""Several hosts on one machine: network namespaces joined by veth pairs on a bridge, for the multi-host tests.

Each host is a namespace with one interface (``eth0``) and an address of its own on a private /24. The
bridge lives in a namespace of its own ("the switch"); the test process reaches the hosts through one more
veth pair whose outer end, in the test's own namespace, gets the subnet's first address. Cutting a host off
the network sets its switch port down, as a pulled cable would: the host keeps its address and its
processes, and nothing it sends arrives anywhere until the port is up again.

Names carry the test process's id and a random tag, so runs never collide, and a later run removes what a
killed run left behind (namespaces whose creating process is gone). Everything is removed on ``close()``:
the processes started in the hosts, then the namespaces (which takes their interfaces with them).
"""
from __future__ import annotations

import ipaddress
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.processes import kill_tree

PREFIX = "exmh"
STALE = re.compile(rf"^{PREFIX}-(\d+)-[0-9a-f]+-")
COMMAND_TIMEOUT_S = 10.0


class NamespaceError(RuntimeError):
    """An ``ip`` command failed; the message has its words."""


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S)
    if check and result.returncode != 0:
        raise NamespaceError(f"ip {' '.join(args)}: {result.stderr.strip() or result.returncode}")
    return result


def unavailable_reason() -> str | None:
    """Why network namespaces cannot be made here (no root, no ``ip``, ``ip netns add`` or veth refused), or None."""
    if os.geteuid() != 0:
        return "making network namespaces needs root"
    if shutil.which("ip") is None:
        return "no `ip` command (iproute2)"
    probe = f"{PREFIX}-{os.getpid()}-{secrets.token_hex(2)}-probe"
    try:
        ip("netns", "add", probe)
    except (NamespaceError, OSError, subprocess.TimeoutExpired) as exc:
        return f"`ip netns add` failed: {exc}"
    try:
        ip("-n", probe, "link", "add", "probe0", "type", "veth", "peer", "name", "probe1")
        ip("-n", probe, "link", "add", "probebridge", "type", "bridge")
    except (NamespaceError, subprocess.TimeoutExpired) as exc:
        return f"no veth pair or bridge in a network namespace: {exc}"
    finally:
        ip("netns", "del", probe, check=False)
    return None


@dataclass(frozen=True)
class Host:
    name: str
    namespace: str
    address: str


class Lab:
    """Hosts named ``names`` on one switch; ``close()`` (or leaving the ``with``) removes everything."""

    def __init__(self, names: list[str], directory: Path) -> None:
        remove_stale_namespaces()
        self.directory = directory
        self.tag = f"{PREFIX}-{os.getpid()}-{secrets.token_hex(2)}"
        self.switch = f"{self.tag}-switch"
        self.processes: list[subprocess.Popen] = []
        self._logs: list = []
        network = free_subnet()
        addresses = [str(address) for address in network.hosts()]
        self.driver_address = addresses[0]
        self.hosts = {name: Host(name, f"{self.tag}-{name}", addresses[number + 1])
                      for number, name in enumerate(names)}
        self._outer_link = f"{PREFIX}{secrets.token_hex(3)}"  # in the test's own namespace: unique, <= 15 chars
        self._prefix_length = network.prefixlen
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    def _build(self) -> None:
        ip("netns", "add", self.switch)
        ip("-n", self.switch, "link", "add", "switch", "type", "bridge")
        ip("-n", self.switch, "link", "set", "switch", "up")
        for host in self.hosts.values():
            ip("netns", "add", host.namespace)
            ip("link", "add", "eth0", "netns", host.namespace, "type", "veth", "peer", "name", host.name,
               "netns", self.switch)
            self._plug(host.name)
            ip("-n", host.namespace, "addr", "add", f"{host.address}/{self._prefix_length}", "dev", "eth0")
            ip("-n", host.namespace, "link", "set", "eth0", "up")
            ip("-n", host.namespace, "link", "set", "lo", "up")
        ip("link", "add", self._outer_link, "type", "veth", "peer", "name", "driver", "netns", self.switch)
        self._plug("driver")
        ip("addr", "add", f"{self.driver_address}/{self._prefix_length}", "dev", self._outer_link)
        ip("link", "set", self._outer_link, "up")

    def _plug(self, port: str) -> None:
        ip("-n", self.switch, "link", "set", port, "master", "switch")
        ip("-n", self.switch, "link", "set", port, "up")

    def start(self, host: str, argv: list[str], env: dict[str, str], log_name: str) -> subprocess.Popen:
        """Run ``argv`` on ``host`` (``ip netns exec``, which then becomes the program), output to a log file."""
        log = open(self.directory / f"{log_name}.log", "w")
        self._logs.append(log)
        process = subprocess.Popen(["ip", "netns", "exec", self.hosts[host].namespace, *argv], env=env,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(process)
        return process

    def logs(self) -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text()[-3000:]}"
                         for path in sorted(self.directory.glob("*.log")))

    def cut(self, host: str) -> None:
        """Take the host off the network: its switch port goes down."""
        ip("-n", self.switch, "link", "set", host, "down")

    def reconnect(self, host: str) -> None:
        ip("-n", self.switch, "link", "set", host, "up")

    def close(self) -> None:
        """Stop every process started in the hosts, then remove the namespaces and links. Never raises."""
        for process in self.processes:
            if process.poll() is None:
                kill_tree(process)
        for log in self._logs:
            log.close()
        for namespace in [*(host.namespace for host in self.hosts.values()), self.switch]:
            remove_namespace(namespace)
        ip("link", "del", self._outer_link, check=False)  # gone with the switch already; this makes sure

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def remove_namespace(namespace: str) -> None:
    """Kill whatever still runs in the namespace (processes a test started there), then delete it."""
    listed = ip("netns", "pids", namespace, check=False)
    for pid in listed.stdout.split():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass
    ip("netns", "del", namespace, check=False)


def remove_stale_namespaces() -> None:
    """Namespaces of an earlier run whose test process is gone (killed before it could clean up)."""
    listed = ip("netns", "list", check=False).stdout
    for line in listed.splitlines():
        name = line.split()[0] if line.split() else ""
        match = STALE.match(name)
        if match and not Path(f"/proc/{match.group(1)}").exists():
            remove_namespace(name)


def free_subnet() -> ipaddress.IPv4Network:
    """A /24 in 10.200.0.0-10.250.255.0 that no route or address of this machine's namespace touches."""
    taken = []
    for line in ip("-4", "-o", "addr", "show").stdout.splitlines() + ip("-4", "route", "show", "table",
                                                                         "all").stdout.splitlines():
        for word in line.split():
            try:
                taken.append(ipaddress.ip_network(word, strict=False))
            except ValueError:
                continue
    for _ in range(200):
        candidate = ipaddress.ip_network(f"10.{random.randint(200, 250)}.{random.randint(0, 255)}.0/24")
        if not any(candidate.overlaps(network) for network in taken if network.prefixlen > 0):
            return candidate
    raise NamespaceError("no free /24 in 10.200.0.0/16-10.250.255.0/24 for the test hosts")
