# Copyright 2026 The clip_grounding_ros authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""
Two hosts on one machine: two network namespaces joined by a veth pair.

Tests of a robot whose grounding node runs on another machine need traffic to cross a real
network link (DDS discovery by multicast, data over UDP), which loopback and shared memory
would silently short-cut. Each namespace has only its own loopback and one end of the veth,
with an address of a private /30 that exists nowhere but inside these namespaces, so
nothing reaches another machine and nothing from this machine reaches the namespaces. The
veth is created directly inside the namespaces and deleting them removes it, so tearing
down cannot leave anything behind in the machine's own namespace.

Needs root and iproute2 (CI runs as root); ``NetnsUnavailable`` says why otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
import ipaddress
import itertools
import os
import shutil
import subprocess

SUBNET = '10.231.0.0/30'  # private, only ever configured inside the namespaces made here
IP_TIMEOUT = 10.0  # seconds for one iproute2 command
_pairs = itertools.count()  # several pairs in one process get distinct names


class NetnsUnavailable(RuntimeError):
    """Network namespaces cannot be made here (not root, no iproute2, not permitted)."""


@dataclass(frozen=True)
class Host:
    """One namespace: its name, its end of the veth and that end's address."""

    namespace: str
    link: str
    address: str

    def command(self, argv: list[str]) -> list[str]:
        """
        Run ``argv`` inside this namespace.

        ``ip netns exec`` execs it: same pid, so signals sent to the process reach the command
        itself.
        """
        return ['ip', 'netns', 'exec', self.namespace, *argv]

    def link_bytes(self) -> dict[str, int]:
        """Bytes received and sent by this host's end of the veth since it was made."""
        counters = {}
        for direction in ('rx', 'tx'):
            path = f'/sys/class/net/{self.link}/statistics/{direction}_bytes'
            counters[direction] = int(_ip('netns', 'exec', self.namespace, 'cat', path))
        return counters


class NetnsPair:
    """
    Context manager: two network namespaces joined by a veth.

    The namespaces are named after their roles and this process; the veth has the two usable
    addresses of ``subnet``. Everything is removed on exit, also when building it failed half-way.
    """

    def __init__(self, first: str = 'robot', second: str = 'ws', subnet: str = SUBNET):
        tag = f'{os.getpid()}-{next(_pairs)}'
        network = ipaddress.ip_network(subnet)
        addresses = [f'{address}/{network.prefixlen}'
                     for address in itertools.islice(network.hosts(), 2)]
        # Interface names have at most 15 characters: 'cgr', pid (<= 7), '-', counter, 'a'/'b'.
        self.hosts = {role: Host(f'cgr-{role}-{tag}', f'cgr{tag}{end}', address)
                      for role, end, address in zip((first, second), 'ab', addresses,
                                                    strict=True)}
        self.created: list[str] = []

    def __getitem__(self, role: str) -> Host:
        return self.hosts[role]

    def __enter__(self) -> NetnsPair:
        check_available()
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _build(self) -> None:
        first, second = self.hosts.values()
        for host in (first, second):
            try:
                _ip('netns', 'add', host.namespace)
            except subprocess.CalledProcessError as error:
                if not self.created:  # the first one: namespaces are not permitted here
                    raise NetnsUnavailable(f'ip netns add failed: {error.stderr.strip()}') \
                        from None
                raise
            self.created.append(host.namespace)
        _ip('link', 'add', first.link, 'netns', first.namespace, 'type', 'veth',
            'peer', 'name', second.link, 'netns', second.namespace)
        for host in (first, second):
            _ip('-n', host.namespace, 'link', 'set', 'lo', 'up')
            _ip('-n', host.namespace, 'addr', 'add', host.address, 'dev', host.link)
            _ip('-n', host.namespace, 'link', 'set', host.link, 'up')
            # DDS discovers by multicast, and the namespace has no default route to carry
            # it: without this route, 3 of 11 start-ups here never (or only partly)
            # discovered the other side within 10 s; with it, none of 14.
            _ip('-n', host.namespace, 'route', 'add', '224.0.0.0/4', 'dev', host.link)

    def close(self) -> None:
        """Delete the namespaces this pair made (the veth goes with them)."""
        errors = []
        while self.created:
            namespace = self.created.pop()
            try:
                _ip('netns', 'del', namespace)
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
                errors.append(f'{namespace}: {getattr(error, "stderr", "") or error}')
        if errors:
            raise RuntimeError(f'could not delete network namespaces: {"; ".join(errors)}')


def check_available() -> None:
    """Raise NetnsUnavailable unless this process can make network namespaces."""
    if os.geteuid() != 0:
        raise NetnsUnavailable('network namespaces need root (CI runs as root)')
    if shutil.which('ip') is None:
        raise NetnsUnavailable("iproute2's ip command is not installed")


def _ip(*arguments: str) -> str:
    return subprocess.run(['ip', *arguments], check=True, capture_output=True, text=True,
                          timeout=IP_TIMEOUT).stdout
