"""The whole test run is offline: any attempt to open a network socket fails."""

import socket
import urllib.request

import pytest
from pytest_socket import SocketBlockedError


def test_inet_socket_is_blocked():
    with pytest.raises(SocketBlockedError):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)


def test_ipv6_socket_is_blocked():
    with pytest.raises(SocketBlockedError):
        socket.socket(socket.AF_INET6, socket.SOCK_STREAM)


def test_http_request_is_blocked():
    with pytest.raises(SocketBlockedError):
        urllib.request.urlopen("http://127.0.0.1:9/", timeout=1)


def test_hub_name_fails_fast_offline():
    from bertguide import pretrained

    with pytest.raises(pretrained.PretrainedModelError, match="cannot be reached"):
        pretrained.resolve("bert-base-uncased")
