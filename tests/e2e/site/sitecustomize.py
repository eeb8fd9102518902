"""Test-only: make aioice offer 127.0.0.1 as a host candidate (it never does by itself),
so WebRTC works inside a loopback-only network namespace. Never used by the app."""

import aioice.ice

aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=False: ["127.0.0.1"]
