"""The webhook adapter against a signature-checking receiver."""

from __future__ import annotations

import _socket
import base64
import hashlib
import hmac
import http.server
import ipaddress
import json
import socket
import ssl
import subprocess
import threading
import time

import pytest

from bridge.channels import adapter_class
from bridge.channels.base import (
    OutcomeUnknownError,
    PermanentError,
    RetryableError,
    SendResult,
    ThrottledError,
)
from bridge.channels.webhook import (
    BAD_SECRET,
    NO_SECRET,
    Adapter,
    Target,
    check_target,
    check_webhook_targets,
    is_public_address,
    signature_headers,
    signing_key,
    webhook_id,
)
from bridge.settings import Settings
from tests.fakes.server import free_port
from tests.fakes.webhook_receiver import DEFAULT_SECRET, FakeWebhookReceiver

PAYLOAD = {
    "type": "complaint.forwarded",
    "wadule_id": "WDL-2026-000101",
    "title": "Jalan berlubang di Desa Arjosari",
    "body": "Sudah dua pengendara motor jatuh 🙏",
    "opd": {"slug": "dpupr", "name": "Dinas Pekerjaan Umum dan Penataan Ruang"},
}

# The test vector of the Standard Webhooks specification.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = '{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def adapter(allow_private: bool = True) -> Adapter:
    return Adapter(Settings(sandbox=True, allow_private_webhooks=allow_private))


@pytest.fixture
def hook_message(make_message, webhook_receiver: FakeWebhookReceiver):
    def make(**overrides):
        fields = {
            "kind": "webhook",
            "target": webhook_receiver.url_for("/hook"),
            "payload": PAYLOAD,
            "secret": DEFAULT_SECRET,
        }
        fields.update(overrides)
        return make_message(**fields)

    return make


def fake_resolver(*addresses: str):
    def resolve(host, port, type=0):
        family = socket.AF_INET6 if ":" in addresses[0] else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    return resolve


def test_registered_under_its_kind():
    assert adapter_class("webhook") is Adapter
    assert Adapter.public is False


# Signing


def test_known_answer_signature():
    # Computed independently of the library: HMAC-SHA256 over "id.timestamp.body".
    key = base64.b64decode(SPEC_SECRET.removeprefix("whsec_"))
    signed = f"{SPEC_ID}.{SPEC_TIMESTAMP}.{SPEC_BODY}".encode()
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert expected == SPEC_SIGNATURE

    headers = signature_headers(signing_key(SPEC_SECRET), SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY)
    assert headers == {
        "webhook-id": SPEC_ID,
        "webhook-timestamp": "1614265330",
        "webhook-signature": SPEC_SIGNATURE,
    }


def test_bare_base64_secret_signs_the_same():
    bare = SPEC_SECRET.removeprefix("whsec_")
    assert signing_key(bare) == signing_key(SPEC_SECRET)
    # Unpadded base64 is accepted too.
    assert signing_key("whsec_YWJj") == b"abc"
    assert signing_key("whsec_YWI") == b"ab"


@pytest.mark.parametrize(
    "secret",
    ["whsec_not base64!", "whsec_***", "whsec_a", "whsec_", "whsec_====", "secret-in-plain-words"],
)
def test_secret_that_is_not_base64_is_permanent(secret):
    with pytest.raises(PermanentError) as caught:
        signing_key(secret)
    assert caught.value.reason == BAD_SECRET == "webhook: secret is not whsec_ base64"


@pytest.mark.parametrize("secret", [None, "", "   "])
def test_missing_secret_is_permanent(secret):
    with pytest.raises(PermanentError, match=f"^{NO_SECRET}$"):
        signing_key(secret)


def test_missing_configuration_names_the_secret(hook_message):
    assert adapter().missing_configuration() is None
    assert adapter().missing_configuration(hook_message()) is None
    assert adapter().missing_configuration(hook_message(secret=None)) == NO_SECRET


# Sending


def test_sends_signed_json(webhook_receiver: FakeWebhookReceiver, hook_message):
    before = int(time.time())
    result = adapter().send(hook_message())

    request = webhook_receiver.last
    assert request.method == "POST"
    assert request.path == "/hook"
    assert request.content_type == "application/json"
    assert request.body == json.dumps(PAYLOAD, ensure_ascii=False, separators=(",", ":")).encode()
    assert request.json == PAYLOAD
    assert request.headers["webhook-id"] == "dlv_42" == webhook_id(42)
    assert before <= int(request.headers["webhook-timestamp"]) <= int(time.time())
    expected = signature_headers(
        signing_key(DEFAULT_SECRET),
        "dlv_42",
        int(request.headers["webhook-timestamp"]),
        request.body.decode(),
    )["webhook-signature"]
    assert request.headers["webhook-signature"] == expected

    [delivery] = webhook_receiver.deliveries
    assert delivery.verified, delivery.error
    assert delivery.payload == PAYLOAD
    assert result == SendResult(external_id="rcv_1")


def test_webhook_id_is_stable_across_retries(webhook_receiver, hook_message):
    webhook_receiver.fail_next(status=503)
    sender = adapter()
    with pytest.raises(RetryableError):
        sender.send(hook_message())
    sender.send(hook_message())
    ids = [r.headers["webhook-id"] for r in webhook_receiver.requests]
    assert ids == ["dlv_42", "dlv_42"]
    assert webhook_id(43) != webhook_id(42)


def test_wrong_secret_is_refused_by_receiver(webhook_receiver, hook_message):
    other = "whsec_" + base64.b64encode(b"another secret of 32 bytes......").decode()
    with pytest.raises(RetryableError) as caught:
        adapter().send(hook_message(secret=other))
    assert caught.value.reason == "webhook: receiver answered 401"
    [delivery] = webhook_receiver.unverified
    assert delivery.error == "No matching signature found"


def test_secret_problems_stop_before_any_request(webhook_receiver, hook_message):
    for secret, reason in ((None, NO_SECRET), ("whsec_%%%", BAD_SECRET)):
        with pytest.raises(PermanentError, match=f"^{reason}$"):
            adapter().send(hook_message(secret=secret))
    assert webhook_receiver.requests == []


def test_no_id_in_answer(webhook_receiver, hook_message):
    webhook_receiver.respond_with_id = False
    assert adapter().send(hook_message()) == SendResult(external_id=None)
    for body in (b"accepted", {"id": None}, {"id": True}, [1], {"id": 7}):
        webhook_receiver.fail_next(status=200, body=body)
        expected = "7" if body == {"id": 7} else None
        assert adapter().send(hook_message()).external_id == expected


# Status classification per the Standard Webhooks spec (spec/standard-webhooks.md, "Delivery
# success and failure"): 2xx success, 410 disables the endpoint, 429/502/504 throttle, every
# other status is a failure that is retried.


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_is_retried_and_not_followed(webhook_receiver, hook_message, status):
    webhook_receiver.fail_next(status=status, headers={"Location": webhook_receiver.url_for("/x")})
    with pytest.raises(RetryableError) as caught:
        adapter().send(hook_message())
    assert type(caught.value) is RetryableError
    assert caught.value.reason == f"webhook: redirect {status} not followed; fix the target URL"
    assert len(webhook_receiver.requests) == 1


def test_410_is_permanent(webhook_receiver, hook_message):
    webhook_receiver.fail_next(status=410)
    with pytest.raises(PermanentError, match="410"):
        adapter().send(hook_message())


@pytest.mark.parametrize("status", [429, 502, 504])
def test_429_502_and_504_throttle(webhook_receiver, hook_message, status):
    webhook_receiver.fail_next(status=status, headers={"Retry-After": "30"})
    with pytest.raises(ThrottledError) as caught:
        adapter().send(hook_message())
    assert caught.value.reason == f"webhook: receiver answered {status}"
    assert caught.value.retry_after == 30


@pytest.mark.parametrize("status", [408, 500, 503, 505])
def test_other_5xx_and_408_are_retryable(webhook_receiver, hook_message, status):
    webhook_receiver.fail_next(status=status, headers={"Retry-After": "5"}, body={"x": "y"})
    with pytest.raises(RetryableError) as caught:
        adapter().send(hook_message())
    assert type(caught.value) is RetryableError
    assert caught.value.reason == f"webhook: receiver answered {status}"
    assert caught.value.retry_after == 5


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 409, 413, 422])
def test_other_4xx_are_retried(webhook_receiver, hook_message, status):
    webhook_receiver.fail_next(status=status, body={"echo": "Budi Santoso 081300000106"})
    with pytest.raises(RetryableError) as caught:
        adapter().send(hook_message())
    assert type(caught.value) is RetryableError
    # The receiver's body may echo personal data: only the status goes into the reason.
    assert caught.value.reason == f"webhook: receiver answered {status}"
    assert caught.value.retry_after is None


def test_read_timeout_is_outcome_unknown(webhook_receiver, hook_message):
    sender = adapter()
    sender.read_timeout = 0.3
    webhook_receiver.hang_next()
    with pytest.raises(OutcomeUnknownError, match=r"no answer within 0\.3s"):
        sender.send(hook_message())


def test_dropped_connection_is_outcome_unknown(webhook_receiver, hook_message):
    webhook_receiver.close_next()
    with pytest.raises(OutcomeUnknownError):
        adapter().send(hook_message())


def test_connection_refused_is_retryable(hook_message):
    with pytest.raises(RetryableError, match="connection refused"):
        adapter().send(hook_message(target=f"http://127.0.0.1:{free_port()}/hook"))


# Target checks


def test_loopback_receiver_is_refused_by_default(webhook_receiver, hook_message):
    with pytest.raises(PermanentError) as caught:
        adapter(allow_private=False).send(hook_message())
    assert caught.value.reason == "webhook: target resolves to non-public address 127.0.0.1"
    assert webhook_receiver.requests == []


def test_localhost_name_is_refused():
    with pytest.raises(PermanentError, match="non-public address"):
        check_target("http://localhost:8000/hook", allow_private=False)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.10",
        "169.254.169.254",
        "0.0.0.0",
        "100.64.0.1",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fe80::1%eth0",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "2001:db8::1",
    ],
)
def test_non_public_addresses_are_refused(address):
    assert not is_public_address(address)
    with pytest.raises(PermanentError, match="non-public address"):
        check_target(
            "https://hooks.example.org/x", allow_private=False, resolve=fake_resolver(address)
        )


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_pass(address):
    url = "https://hooks.example.org/x"
    assert is_public_address(address)
    target = check_target(url, allow_private=False, resolve=fake_resolver(address))
    assert (target.url, target.host, target.port, target.addresses) == (
        url,
        "hooks.example.org",
        443,
        (address,),
    )


def test_every_resolved_address_is_checked():
    resolve = fake_resolver("93.184.215.14", "10.0.0.7")
    with pytest.raises(PermanentError, match=r"10\.0\.0\.7"):
        check_target("https://hooks.example.org/x", allow_private=False, resolve=resolve)


def test_resolution_uses_the_url_port():
    seen = []

    def resolve(host, port, type=0):
        seen.append((host, port, type))
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))]

    check_target("https://Hooks.Example.org/x", allow_private=False, resolve=resolve)
    check_target("http://hooks.example.org:8080/x", allow_private=False, resolve=resolve)
    assert seen == [
        ("hooks.example.org", 443, socket.SOCK_STREAM),
        ("hooks.example.org", 8080, socket.SOCK_STREAM),
    ]


def test_unresolvable_host_is_retryable():
    def resolve(host, port, type=0):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(RetryableError, match="does not resolve"):
        check_target("https://nowhere.invalid/x", allow_private=False, resolve=resolve)
    with pytest.raises(RetryableError, match="does not resolve"):
        check_target("https://empty.example/x", allow_private=False, resolve=lambda *a, **k: [])


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hooks.example.org/x",
        "file:///etc/passwd",
        "gopher://hooks.example.org/",
        "javascript:alert(1)",
        "hooks.example.org/x",
        "http://",
        "https:///path",
        "http://hooks.example.org:99999/x",
        "http://hooks.example.org:port/x",
    ],
)
def test_malformed_or_non_http_targets_are_permanent(url):
    with pytest.raises(PermanentError):
        check_target(url, allow_private=True, resolve=fake_resolver("93.184.215.14"))


def test_allow_private_still_resolves_once_to_pin_the_address():
    calls = []

    def resolve(host, port, type=0):
        calls.append(host)
        return fake_resolver("10.0.0.5")(host, port, type)

    target = check_target("http://hooks.internal/hook", allow_private=True, resolve=resolve)
    assert (target.addresses, calls) == (("10.0.0.5",), ["hooks.internal"])


def test_settings_flag_from_env():
    settings = Settings.from_env({"BRIDGE_SANDBOX": "1", "BRIDGE_ALLOW_PRIVATE_WEBHOOKS": "1"})
    assert Adapter(settings).settings.allow_private_webhooks is True
    assert Settings.from_env({"BRIDGE_SANDBOX": "1"}).allow_private_webhooks is False


# Server-side request forgery: the host that is checked is the host that is reached.


class Listener:
    """A bare HTTP listener on ``host:port`` that records what reached it and answers 200."""

    def __init__(self, host: str, port: int = 0, tls: ssl.SSLContext | None = None):
        self.requests: list[dict] = []
        self.server_names: list[str | None] = []
        listener = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                listener.requests.append({"host": self.headers.get("Host"), "body": body})
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer((host, port), Handler)
        if tls is not None:
            tls.sni_callback = lambda sock, name, ctx: self.server_names.append(name)
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def fake_dns(monkeypatch, names: dict[str, list[str]]):
    """Answer lookups of ``names`` in turn (the last answer repeats); IP literals as themselves.

    Patched below ``socket.getaddrinfo``, so the bridge's check and requests' own connection
    (urllib3 calls ``socket.getaddrinfo`` too) both ask this resolver.
    """
    asked: list[str] = []

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        host = host.decode() if isinstance(host, bytes) else host
        try:
            ipaddress.ip_address(host)
            address = host
        except ValueError:
            if host not in names:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
            answers = names[host]
            address = answers[min(asked.count(host), len(answers) - 1)]
            asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(_socket, "getaddrinfo", getaddrinfo)
    return asked


def test_a_backslash_cannot_smuggle_a_loopback_target(webhook_receiver, hook_message):
    # urlsplit sees host 1.1.1.1 (public); requests (urllib3) connects to 127.0.0.1.
    url = f"http://127.0.0.1:{webhook_receiver.port}\\@1.1.1.1/hook"
    with pytest.raises(PermanentError) as caught:
        adapter(allow_private=False).send(hook_message(target=url))
    assert "backslash" in caught.value.reason
    assert webhook_receiver.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.org\\.evil.example/x",
        "http://hooks.example.org/x\\y",
        "http://hooks.example.org/\x00",
        "http://hooks.example.org/a b",
        "http://hooks.example.org\t/x",
        "http://hooks.example.org/\nx",
        "http://hooks.\u200bexample.org/x",
        "http://hooks.example.org/\x7f",
    ],
)
def test_backslashes_spaces_and_control_characters_are_refused(url):
    with pytest.raises(PermanentError, match="backslash, white space or a control character"):
        check_target(url, allow_private=False, resolve=fake_resolver("93.184.215.14"))


@pytest.mark.parametrize(
    "url", ["http://user:pw@hooks.example.org/x", "http://127.0.0.1:9@hooks.example.org/"]
)
def test_credentials_in_the_url_are_refused(url):
    with pytest.raises(PermanentError, match="user:password@"):
        check_target(url, allow_private=False, resolve=fake_resolver("93.184.215.14"))


def test_a_name_is_resolved_once_and_the_checked_address_is_reached(
    monkeypatch, webhook_receiver, hook_message
):
    # DNS rebinding: the first answer (the one checked) is "public", the next private. Here
    # 127.0.0.2 plays the public address; the receiver on 127.0.0.1 is the private service.
    monkeypatch.setattr(
        "bridge.channels.webhook.is_public_address", lambda address: address != "127.0.0.1"
    )
    asked = fake_dns(monkeypatch, {"rebind.test": ["127.0.0.2", "127.0.0.1"]})
    with Listener("127.0.0.2", webhook_receiver.port) as public:
        target = f"http://rebind.test:{public.port}/hook"
        adapter(allow_private=False).send(hook_message(target=target))
    assert webhook_receiver.requests == []  # the private service never heard a thing
    assert [r["host"] for r in public.requests] == [f"rebind.test:{public.port}"]
    assert asked == ["rebind.test"]


def test_the_next_address_is_tried_when_the_first_refuses(monkeypatch, hook_message):
    fake_dns(monkeypatch, {"two.test": ["127.0.0.3"]})
    with Listener("127.0.0.4") as second:
        monkeypatch.setattr(
            "bridge.channels.webhook.check_target",
            lambda url, **kwargs: Target(
                url, "http", "two.test", second.port, ("127.0.0.3", "127.0.0.4")
            ),
        )
        adapter().send(hook_message(target=f"http://two.test:{second.port}/hook"))
    assert len(second.requests) == 1


def self_signed(tmp_path, name: str) -> tuple[str, str]:
    cert, key = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return str(cert), str(key)


@pytest.fixture
def tls_receiver(tmp_path, monkeypatch):
    cert, key = self_signed(tmp_path, "hooks.test")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", cert)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with Listener("127.0.0.1", tls=context) as listener:
        yield listener


def test_https_keeps_the_name_for_sni_host_and_certificate(monkeypatch, tls_receiver, hook_message):
    asked = fake_dns(monkeypatch, {"hooks.test": ["127.0.0.1"]})
    target = f"https://hooks.test:{tls_receiver.port}/hook"
    adapter(allow_private=True).send(hook_message(target=target))
    assert tls_receiver.server_names == ["hooks.test"]
    assert [r["host"] for r in tls_receiver.requests] == [f"hooks.test:{tls_receiver.port}"]
    assert asked == ["hooks.test"]


def test_a_certificate_for_another_name_is_refused(monkeypatch, tls_receiver, hook_message):
    fake_dns(monkeypatch, {"other.test": ["127.0.0.1"]})
    with pytest.raises(RetryableError, match="SSLError before sending"):
        adapter().send(hook_message(target=f"https://other.test:{tls_receiver.port}/hook"))
    assert tls_receiver.requests == []


def test_directory_targets_are_checked_naming_the_place():
    data = {
        "triage": "diskominfo",
        "opds": [
            {
                "slug": "diskominfo",
                "channels": [{"kind": "webhook", "target": "https://a.example/h"}],
            },
            {
                "slug": "dpupr",
                "channels": [
                    {"kind": "whatsapp_group", "target": "120363000000000001@g.us"},
                    {"kind": "webhook", "target": "http://127.0.0.1:18250\\@1.1.1.1/"},
                    {"kind": "webhook", "target": "https://internal.example/h"},
                    {"kind": "webhook", "target": "ftp://a.example/h"},
                    {"kind": "webhook", "target": "https://gone.example/h"},
                ],
            },
        ],
    }
    answers = {"a.example": "93.184.215.14", "internal.example": "10.1.2.3"}

    def resolve(host, port, type=0):
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return fake_resolver(answers[host])(host, port, type)

    assert check_webhook_targets(data, allow_private=False, resolve=resolve) == [
        "opds[1].channels[1].target: webhook: target URL holds a backslash, white space or a"
        " control character",
        "opds[1].channels[2].target: webhook: target resolves to non-public address 10.1.2.3",
        "opds[1].channels[3].target: webhook: target must be an http or https URL",
    ]
    # Private addresses may be allowed; malformed URLs never are.
    assert check_webhook_targets(data, allow_private=True, resolve=resolve) == [
        "opds[1].channels[1].target: webhook: target URL holds a backslash, white space or a"
        " control character",
        "opds[1].channels[3].target: webhook: target must be an http or https URL",
    ]
