"""The ICE configuration read from EMOTION_ICE_SERVERS / EMOTION_ICE_TRANSPORT_POLICY."""

from __future__ import annotations

import pytest

from emotion_core.ice import rtc_configuration

TURN = '[{"urls": ["turn:127.0.0.1:3478"], "username": "u", "credential": "p"}]'


def test_default_is_no_server_at_all():
    assert rtc_configuration(None) == {"iceServers": []}
    assert rtc_configuration("", "") == {"iceServers": []}


def test_servers_and_relay_policy_reach_the_browser_config():
    config = rtc_configuration(TURN, "relay")
    assert config["iceTransportPolicy"] == "relay"
    assert config["iceServers"][0]["urls"] == ["turn:127.0.0.1:3478"]
    assert "iceTransportPolicy" not in rtc_configuration(TURN, "all")


@pytest.mark.parametrize(
    ("servers", "policy", "message"),
    [
        ("[{urls: 1}]", None, "not valid JSON"),
        ('{"urls": "stun:x"}', None, "JSON list of objects"),
        ('[{"url": "stun:x"}]', None, "JSON list of objects"),
        (TURN, "sometimes", "must be one of"),
        ('[{"urls": "stun:127.0.0.1:3478"}]', "relay", "needs a turn: server"),
    ],
)
def test_malformed_settings_say_what_is_wrong(servers, policy, message):
    with pytest.raises(ValueError, match=message):
        rtc_configuration(servers, policy)
