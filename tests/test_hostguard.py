"""Host safety: which URLs newskb refuses to fetch, and how the allow list opens them."""

from __future__ import annotations

import socket

import pytest

from ingest.hostguard import HostPolicy, HostRefused

DEFAULT = HostPolicy.from_config(environ={})


@pytest.mark.parametrize(
    ("url", "category"),
    [
        ("http://127.0.0.1/feed", "loopback"),
        ("http://127.8.9.10/feed", "loopback"),
        ("http://[::1]/feed", "loopback"),
        ("http://[::ffff:127.0.0.1]/feed", "loopback"),
        ("http://[2002:7f00:1::]/feed", "loopback"),
        ("http://[64:ff9b::a00:1]/feed", "private"),
        ("http://10.1.2.3/feed", "private"),
        ("http://172.16.0.5/feed", "private"),
        ("http://192.168.1.1/feed", "private"),
        ("http://[fd12:3456::1]/feed", "private"),
        ("http://169.254.1.1/feed", "link-local"),
        ("http://[fe80::1]/feed", "link-local"),
        ("http://224.0.0.1/feed", "multicast"),
        ("http://0.0.0.0/feed", "unspecified"),
        ("http://100.64.0.1/feed", "non-public"),
        ("http://240.0.0.1/feed", "(private|reserved)"),
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "cloud metadata"),
    ],
)
def test_non_public_addresses_are_refused_by_default(url: str, category: str) -> None:
    """Loopback, private, link-local, multicast, reserved and metadata addresses are refused."""
    with pytest.raises(HostRefused, match=f"is a {category} address") as info:
        DEFAULT.check_url(url)
    assert info.value.kind == "refused_host"
    assert "KB_ALLOW_HOSTS" in str(info.value)


def test_public_address_is_allowed() -> None:
    """A public address passes and the target keeps the host, port and address to connect to."""
    target = DEFAULT.check_url("https://93.184.216.34/rss")
    assert (target.scheme, target.host, target.port, target.addresses) == (
        "https",
        "93.184.216.34",
        443,
        ("93.184.216.34",),
    )


def test_env_variable_allows_an_address() -> None:
    """KB_ALLOW_HOSTS=127.0.0.1 lets the local test server through."""
    policy = HostPolicy.from_config(environ={"KB_ALLOW_HOSTS": "127.0.0.1"})
    assert policy.check_url("http://127.0.0.1:8080/feed").port == 8080


def test_config_and_env_entries_combine_and_cidr_ranges_work() -> None:
    """The config list and the comma-separated variable add up; CIDR ranges cover their hosts."""
    policy = HostPolicy.from_config(["10.0.0.0/8"], environ={"KB_ALLOW_HOSTS": " 127.0.0.1 , "})
    policy.check_url("http://10.20.30.40/feed")
    policy.check_url("http://127.0.0.1/feed")
    with pytest.raises(HostRefused):
        policy.check_url("http://192.168.0.1/feed")


def test_metadata_address_needs_an_exact_allow_entry() -> None:
    """A broad allowed range does not open the cloud metadata service; naming it exactly does."""
    broad = HostPolicy.from_config(["169.254.0.0/16"], environ={})
    broad.check_url("http://169.254.1.1/")
    with pytest.raises(HostRefused, match="cloud metadata"):
        broad.check_url("http://169.254.169.254/")
    HostPolicy.from_config(["169.254.169.254"], environ={}).check_url("http://169.254.169.254/")


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.com/feed", "gopher://127.0.0.1:25/", "feed.xml"]
)
def test_only_http_and_https_are_fetched(url: str) -> None:
    """Other URL schemes (file, ftp, gopher, none) are refused before any lookup."""
    with pytest.raises(HostRefused, match="only http and https") as info:
        DEFAULT.check_url(url)
    assert info.value.kind == "bad_scheme"


def test_check_holds_after_dns_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    """A public-looking name that resolves to a private address is refused."""
    monkeypatch.setattr(socket, "getaddrinfo", _resolver({"news.example.com": ["10.0.0.7"]}))
    with pytest.raises(HostRefused, match=r"news\.example\.com \(10\.0\.0\.7 is a private"):
        DEFAULT.check_url("https://news.example.com/rss")


def test_every_resolved_address_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """One forbidden address among several answers is enough to refuse the host."""
    answers = {"mixed.example.com": ["93.184.216.34", "127.0.0.1"]}
    monkeypatch.setattr(socket, "getaddrinfo", _resolver(answers))
    with pytest.raises(HostRefused, match="127.0.0.1 is a loopback"):
        DEFAULT.check_url("http://mixed.example.com/feed")


def test_allowed_host_name_opens_its_addresses(monkeypatch: pytest.MonkeyPatch) -> None:
    """Allowing a host by name allows whatever it resolves to."""
    monkeypatch.setattr(socket, "getaddrinfo", _resolver({"intranet.local": ["192.168.5.5"]}))
    policy = HostPolicy.from_config(["Intranet.Local"], environ={})
    assert policy.check_url("http://intranet.local/feed").addresses == ("192.168.5.5",)


def test_unresolvable_host_is_a_network_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A name that does not resolve is reported as such, not as a refusal."""
    monkeypatch.setattr(socket, "getaddrinfo", _resolver({}))
    with pytest.raises(HostRefused, match="cannot resolve host nowhere.invalid") as info:
        DEFAULT.check_url("http://nowhere.invalid/feed")
    assert info.value.kind == "network"


def test_malformed_url_is_refused() -> None:
    """A URL with a non-numeric port is a bad URL with a one-line reason."""
    with pytest.raises(HostRefused, match="bad URL") as info:
        DEFAULT.check_url("http://example.com:http/feed")
    assert info.value.kind == "bad_url"


def _resolver(answers: dict[str, list[str]]):
    """A fake socket.getaddrinfo answering from ``answers``."""

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (
                socket.AF_INET6 if ":" in a else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (a, port),
            )
            for a in answers[host]
        ]

    return getaddrinfo
