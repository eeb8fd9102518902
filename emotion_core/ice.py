"""The WebRTC ICE configuration (STUN/TURN servers) from the deployment's settings.

WebRTC media flows between the browser and the app process holding the session, never
through the reverse proxy, so a browser behind NAT needs a TURN relay. Both settings are
plain strings (environment or secrets): ``EMOTION_ICE_SERVERS``, a JSON list of
RTCIceServer objects, and ``EMOTION_ICE_TRANSPORT_POLICY``, ``all`` or ``relay`` (every
stream through the TURN server).
"""

from __future__ import annotations

import json
from typing import Any

ICE_POLICIES = ("all", "relay")


def rtc_configuration(servers_json: str | None, policy: str | None = None) -> dict[str, Any]:
    """The RTCConfiguration the browser gets; ValueError with a sentence for the user
    when a setting is malformed. No servers at all (the default) means host candidates
    only: localhost and the LAN, nothing contacted outside."""
    try:
        servers = json.loads(servers_json or "[]")
    except json.JSONDecodeError as exc:
        raise ValueError(f"EMOTION_ICE_SERVERS is not valid JSON ({exc})") from None
    if not isinstance(servers, list) or not all(
        isinstance(s, dict) and isinstance(s.get("urls"), str | list) for s in servers
    ):
        raise ValueError(
            'EMOTION_ICE_SERVERS must be a JSON list of objects such as {"urls": '
            '["turn:turn.example.org:3478"], "username": "...", "credential": "..."}'
        )
    policy = (policy or "all").strip().lower()
    if policy not in ICE_POLICIES:
        raise ValueError(f"EMOTION_ICE_TRANSPORT_POLICY must be one of {ICE_POLICIES}")
    config: dict[str, Any] = {"iceServers": servers}
    if policy == "relay":
        if not any(_is_turn(s["urls"]) for s in servers):
            raise ValueError("EMOTION_ICE_TRANSPORT_POLICY=relay needs a turn: server")
        config["iceTransportPolicy"] = "relay"
    return config


def _is_turn(urls: str | list[str]) -> bool:
    listed = [urls] if isinstance(urls, str) else urls
    return any(u.startswith(("turn:", "turns:")) for u in listed)
