"""The X adapter, its two ways to authenticate and X's weighted length, against a fake X API v2.

OAuth 1.0a requests are verified by the fake's own HMAC-SHA1; OAuth 2.0 access tokens expire on
the fake's clock and each refresh token works once. Token state lives in the database, so the
adapter runs inside an app (PostgreSQL; one SQLite smoke run) with channels imported through the
directory, as the delivery engine would call it.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import threading
import time

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError
from sqlalchemy import select

from bridge import create_app
from bridge.channels import adapter_class
from bridge.channels.base import (
    OutcomeUnknownError,
    PermanentError,
    RetryableError,
    SendResult,
    ThrottledError,
)
from bridge.channels.x import REFRESH_MARGIN, Adapter, weighted_length
from bridge.db import engine_of, new_session
from bridge.migrate import upgrade
from bridge.models import Channel, Delivery, XToken
from bridge.settings import Settings
from schemas.directory import DirectorySchema
from tests.fakes.x_api import (
    X_CLIENT_ID,
    X_CLIENT_SECRET,
    X_CONSUMER_KEY,
    X_CONSUMER_SECRET,
    X_REFRESH_TOKEN,
    X_SECRET,
    X_TOKEN,
    X_USER,
    FakeX,
    hmac_sha1_signature,
    signature_base_string,
    x_length,
)
from tests.support import use_directory

LINK = "https://wadul.pacitankab.go.id/aduan/WDL-2026-000101"
TEXT = f"📢 Aduan warga #WDL-2026-000101\nJalan berlubang\n\nSelengkapnya: {LINK}"
OAUTH2_USER = "dinkes_pacitan"
DIRECTORY = {
    "triage": "dpupr",
    "opds": [
        {
            "slug": "dpupr",
            "name": "Dinas Pekerjaan Umum dan Penataan Ruang",
            "channels": [
                {
                    "kind": "x",
                    "target": X_USER,
                    "auth": "oauth1",
                    "token_env": "X_TOKEN_DPUPR",
                    "secret_env": "X_SECRET_DPUPR",
                }
            ],
        },
        {
            "slug": "dinkes",
            "name": "Dinas Kesehatan",
            "channels": [
                {
                    "kind": "x",
                    "target": OAUTH2_USER,
                    "auth": "oauth2",
                    "token_env": "X_TOKEN_DINKES",
                }
            ],
        },
    ],
}
_keys = itertools.count(1)


class Clock:
    """Now, in whole epoch seconds, moved only by the test (shared by the fake and the adapter)."""

    def __init__(self):
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock():
    return Clock()


def fake_x(clock, **options) -> FakeX:
    """A fake X whose first refresh token belongs to the OAuth 2.0 channel's account."""
    fake = FakeX(clock=clock, **options)
    fake.refresh_tokens = {X_REFRESH_TOKEN: OAUTH2_USER}
    return fake


@pytest.fixture
def x_api(clock):
    with fake_x(clock) as fake:
        yield fake


@pytest.fixture
def bridge(app):
    """The test app with both X channels imported, inside its app context."""
    use_directory(app, DIRECTORY)
    with app.app_context():
        yield app


def delivery_to(target: str) -> int:
    """A delivery row for the channel of ``target`` (the adapter reads the channel's auth)."""
    with new_session() as db:
        channel = db.scalar(select(Channel).where(Channel.target == target))
        delivery = Delivery(
            dedupe_key=f"test-x-{next(_keys)}", channel_id=channel.id, kind="x", target=target
        )
        db.add(delivery)
        db.commit()
        return delivery.id


def adapter_for(url: str, clock=time.time, **extra) -> Adapter:
    keys = {
        "x_consumer_key": X_CONSUMER_KEY,
        "x_consumer_secret": X_CONSUMER_SECRET,
        "x_client_id": X_CLIENT_ID,
    }
    return Adapter(Settings(sandbox=True, x_api_url=url, **(keys | extra)), clock=clock)


@pytest.fixture
def adapter(x_api, clock):
    return adapter_for(x_api.url, clock)


@pytest.fixture
def message(make_message):
    """An OAuth 1.0a message to ``X_USER``; ``oauth2=True`` one to the OAuth 2.0 account."""
    ids: dict[str, int] = {}

    def make(progress=None, oauth2=False, **overrides):
        target = OAUTH2_USER if oauth2 else X_USER
        if target not in ids:
            ids[target] = delivery_to(target)
        fields = {
            "delivery_id": ids[target],
            "kind": "x",
            "target": target,
            "text": TEXT,
            "payload": {"type": "complaint.public"},
            "token": X_REFRESH_TOKEN if oauth2 else X_TOKEN,
            "secret": None if oauth2 else X_SECRET,
            "progress": dict(progress or {}),
        }
        return make_message(**(fields | overrides))

    return make


def token_requests(x_api) -> list[dict]:
    return [r.form for r in x_api.requests_to("/2/oauth2/token")]


def stored() -> XToken | None:
    """The OAuth 2.0 channel's token row."""
    with new_session() as db:
        return db.get(XToken, "X_TOKEN_DINKES")


def test_registered_as_public():
    assert adapter_class("x") is Adapter
    assert Adapter.public is True and Adapter.max_length == 280


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("abc", 3),
        ("é", 1),  # U+00E9 is in the light range
        ("e\u0301", 1),  # NFD: normalised to one light character first
        ("道路", 4),
        ("👍", 2),
        ("\u2019", 1),  # right single quotation mark
        (LINK, 23),
        ("https://a.b/c", 23),
        ("lihat wadul.pacitankab.go.id ya", 6 + 23 + 3),
        (f"{LINK} {LINK}", 47),
        ("Rp 500.000", 10),
    ],
)
def test_weighted_length(text, length):
    assert weighted_length(text) == length


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_never_counts_less_than_the_fake(text):
    assert weighted_length(text) >= x_length(text)


# The directory's auth


def channel_entry(**fields) -> dict:
    directory = {
        "triage": "dpupr",
        "opds": [{"slug": "dpupr", "name": "Dinas PU", "channels": [{"kind": "x", **fields}]}],
    }
    return DirectorySchema().load(directory)["opds"][0]["channels"][0]


def channel_errors(**fields) -> dict:
    with pytest.raises(ValidationError) as caught:
        channel_entry(**fields)
    return caught.value.messages["opds"][0]["channels"][0]


def test_auth_defaults_to_oauth1():
    entry = channel_entry(target="a", token_env="X_TOKEN_A", secret_env="X_SECRET_A")
    assert entry["auth"] == "oauth1"
    entry = channel_entry(target="a", auth="oauth2", token_env="X_TOKEN_A")
    assert entry["auth"] == "oauth2"


def test_an_old_bearer_token_entry_is_refused_saying_why():
    errors = channel_errors(target="a", token_env="X_TOKEN_A")
    (message,) = errors["secret_env"]
    assert message.startswith("x channels use auth: oauth1 unless they say otherwise")
    assert "auth: oauth2" in message


@pytest.mark.parametrize(
    ("fields", "field", "expected"),
    [
        ({"auth": "bearer", "token_env": "T"}, "auth", "Must be one of: oauth1, oauth2."),
        ({"auth": "oauth2"}, "token_env", "x channels need token_env (the refresh token)"),
        ({"secret_env": "S"}, "token_env", "x channels need token_env (the access token)"),
        (
            {"auth": "oauth2", "token_env": "T", "secret_env": "S"},
            "secret_env",
            "auth: oauth2 takes no secret_env: token_env holds the refresh token and the client"
            " secret is BRIDGE_X_CLIENT_SECRET",
        ),
    ],
)
def test_auth_validation(fields, field, expected):
    assert channel_errors(target="a", **fields)[field] == [expected]


def test_only_x_channels_take_auth():
    directory = {
        "triage": "dpupr",
        "opds": [
            {
                "slug": "dpupr",
                "name": "Dinas PU",
                "channels": [{"kind": "telegram", "target": "-100", "auth": "oauth1"}],
            }
        ],
    }
    with pytest.raises(ValidationError) as caught:
        DirectorySchema().load(directory)
    assert caught.value.messages["opds"][0]["channels"][0] == {
        "auth": ["only x channels take auth"]
    }


def test_import_stores_the_auth(bridge):
    with new_session() as db:
        auth = dict(db.execute(select(Channel.target, Channel.auth)).all())
    assert auth == {X_USER: "oauth1", OAUTH2_USER: "oauth2"}


# OAuth 1.0a


def test_the_fakes_signature_is_xs_known_answer():
    # docs.x.com "Creating a signature": the worked example's base string and signature.
    params = [
        ("status", "Hello Ladies + Gentlemen, a signed OAuth request!"),
        ("include_entities", "true"),
        ("oauth_consumer_key", "xvz1evFS4wEEPTGEFPHBog"),
        ("oauth_nonce", "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg"),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", "1318622958"),
        ("oauth_token", "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb"),
        ("oauth_version", "1.0"),
    ]
    base = signature_base_string("post", "https://api.x.com/1.1/statuses/update.json", params)
    assert base == (
        "POST&https%3A%2F%2Fapi.x.com%2F1.1%2Fstatuses%2Fupdate.json&include_entities%3Dtrue%26"
        "oauth_consumer_key%3Dxvz1evFS4wEEPTGEFPHBog%26oauth_nonce%3DkYjzVBB8Y0ZFabxSWbWovY3uYSQ2"
        "pTgmZeNu2VS4cg%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1318622958%26"
        "oauth_token%3D370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb%26oauth_version%3D1.0%26"
        "status%3DHello%2520Ladies%2520%252B%2520Gentlemen%252C%2520a%2520signed%2520OAuth%2520"
        "request%2521"
    )
    signature = hmac_sha1_signature(
        base,
        "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
        "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
    )
    assert signature == "Ls93hJiZbQ3akF3HF3x1Bz8/zU4="


def oauth_params(request) -> dict[str, str]:
    header = request.headers["Authorization"]
    assert header.startswith("OAuth ")
    pairs = (part.strip().split("=", 1) for part in header[len("OAuth ") :].split(","))
    return {key: requests.utils.unquote(value.strip('"')) for key, value in pairs}


def test_oauth1_posts_the_exact_signed_request(bridge, x_api, adapter, message):
    msg = message()
    result = adapter.send(msg)
    request = x_api.last
    assert (request.method, request.path, request.outcome) == ("POST", "/2/tweets", 201)
    assert request.json == {"text": TEXT}
    params = oauth_params(request)
    assert params.keys() == {
        "oauth_consumer_key",
        "oauth_nonce",
        "oauth_signature",
        "oauth_signature_method",
        "oauth_timestamp",
        "oauth_token",
        "oauth_version",
    }
    assert params["oauth_consumer_key"] == X_CONSUMER_KEY
    assert params["oauth_token"] == X_TOKEN
    assert params["oauth_signature_method"] == "HMAC-SHA1"
    (tweet,) = x_api.tweets
    assert tweet.user == X_USER
    assert result == SendResult(external_id=tweet.id)
    assert msg.progress == {"post_requested": True}
    assert token_requests(x_api) == []


def test_the_fake_refuses_a_replayed_or_altered_signed_request(bridge, x_api, adapter, message):
    adapter.send(message())
    signed = x_api.last
    replay = {"Authorization": signed.headers["Authorization"], "Content-Type": "application/json"}
    url = f"{x_api.url}/2/tweets"
    assert requests.post(url, data=signed.body, headers=replay, timeout=5).status_code == 401
    # A fresh nonce with the old signature: the base string changed, the signature no longer fits.
    altered = signed.headers["Authorization"].replace(oauth_params(signed)["oauth_nonce"], "n0nce")
    replay["Authorization"] = altered
    assert requests.post(url, data=signed.body, headers=replay, timeout=5).status_code == 401
    assert len(x_api.tweets) == 1


def test_a_stale_timestamp_is_refused(bridge, x_api, adapter, message, clock):
    clock.advance(400)  # X's now runs ahead; the signer's timestamp is over 5 minutes old
    with pytest.raises(PermanentError, match="401"):
        adapter.send(message())
    assert x_api.tweets == []


def test_wrong_consumer_secret_is_permanent(bridge, x_api, clock, message):
    msg = message()
    wrong = adapter_for(x_api.url, clock, x_consumer_secret="not-the-secret")
    with pytest.raises(PermanentError) as caught:
        wrong.send(msg)
    assert caught.value.reason == (
        "x: X refused the OAuth 1.0a credentials (401); check X_TOKEN_DPUPR, X_SECRET_DPUPR and"
        " BRIDGE_X_CONSUMER_KEY/_SECRET"
    )
    assert x_api.last.outcome == 401 and x_api.tweets == []
    assert msg.progress == {"post_requested": False}


def test_revoked_access_token_is_permanent_and_never_named(bridge, x_api, adapter, message):
    with pytest.raises(PermanentError, match="401") as caught:
        adapter.send(message(token="revoked-token", secret="revoked-secret"))
    assert "revoked" not in caught.value.reason


def test_oauth1_without_the_apps_keys_sends_nothing(bridge, x_api, clock, message):
    unkeyed = adapter_for(x_api.url, clock, x_consumer_key=None, x_consumer_secret=None)
    with pytest.raises(PermanentError) as caught:
        unkeyed.send(message())
    assert caught.value.reason == (
        "x: provider not configured (auth oauth1 needs BRIDGE_X_CONSUMER_KEY and"
        " BRIDGE_X_CONSUMER_SECRET)"
    )
    with pytest.raises(PermanentError, match="secret not configured"):
        adapter_for(x_api.url, clock).send(message(secret=None))
    assert x_api.requests == []


def test_missing_configuration():
    def missing(**keys):
        return Adapter(Settings(sandbox=True, **keys)).missing_configuration()

    assert missing() == "provider not configured"
    assert missing(x_consumer_key="k") == "provider not configured"
    assert missing(x_consumer_key="k", x_consumer_secret="s") is None
    assert missing(x_client_id="c") is None


# OAuth 2.0


def test_the_fake_token_endpoint_spends_each_refresh_token_once(x_api):
    form = {
        "grant_type": "refresh_token",
        "refresh_token": X_REFRESH_TOKEN,
        "client_id": X_CLIENT_ID,
    }
    first = requests.post(f"{x_api.url}/2/oauth2/token", data=form, timeout=5)
    assert first.status_code == 200
    answer = first.json()
    assert answer.keys() == {"token_type", "expires_in", "access_token", "scope", "refresh_token"}
    assert (answer["token_type"], answer["expires_in"]) == ("bearer", 7200)
    assert answer["refresh_token"] != X_REFRESH_TOKEN
    again = requests.post(f"{x_api.url}/2/oauth2/token", data=form, timeout=5)
    assert again.status_code == 400
    assert again.json() == {
        "error": "invalid_request",
        "error_description": "Value passed for the token was invalid.",
    }


def test_the_fake_refuses_an_expired_access_token(x_api, clock):
    access = x_api.issue_access_token()
    post = {"json": {"text": "uji"}, "timeout": 5}
    bearer = {"Authorization": f"Bearer {access}"}
    clock.advance(7200)
    response = requests.post(f"{x_api.url}/2/tweets", headers=bearer, **post)
    assert response.status_code == 401
    assert response.json() == {
        "title": "Unauthorized",
        "type": "about:blank",
        "status": 401,
        "detail": "Unauthorized",
    }


def test_first_send_trades_the_seed_and_stores_the_rotated_token(
    bridge, x_api, adapter, message, clock
):
    msg = message(oauth2=True)
    result = adapter.send(msg)
    assert token_requests(x_api) == [
        {"grant_type": "refresh_token", "refresh_token": X_REFRESH_TOKEN, "client_id": X_CLIENT_ID}
    ]
    token_request, post = x_api.requests
    assert "Authorization" not in token_request.headers  # a public client names its id
    assert token_request.content_type == "application/x-www-form-urlencoded"
    ((spent, rotated),) = x_api.rotations
    row = stored()
    assert (spent, row.refresh_token) == (X_REFRESH_TOKEN, rotated)
    assert row.seed_hash == hashlib.sha256(X_REFRESH_TOKEN.encode()).hexdigest()
    assert row.expires_at.timestamp() == clock() + 7200
    assert post.headers["Authorization"] == f"Bearer {row.access_token}"
    assert post.json == {"text": TEXT}
    (tweet,) = x_api.tweets
    assert tweet.user == OAUTH2_USER and result == SendResult(external_id=tweet.id)


def test_refresh_before_expiry_and_never_reuse_a_spent_token(
    bridge, x_api, adapter, message, clock
):
    adapter.send(message(oauth2=True, text=TEXT + " 1"))
    first_access = stored().access_token
    clock.advance(7200 - REFRESH_MARGIN - 1)  # still outside the margin: no refresh
    adapter.send(message(oauth2=True, text=TEXT + " 2"))
    assert len(token_requests(x_api)) == 1
    clock.advance(2)  # inside the last five minutes: refresh first, X has not expired it yet
    adapter.send(message(oauth2=True, text=TEXT + " 3"))
    presented = [form["refresh_token"] for form in token_requests(x_api)]
    assert presented == [spent for spent, _new in x_api.rotations]
    assert presented[1] == x_api.rotations[0][1]  # the rotated one, never the spent seed
    assert len(set(presented)) == len(presented)
    posts = x_api.requests_to("/2/tweets")
    assert [p.headers["Authorization"] for p in posts[:2]] == [f"Bearer {first_access}"] * 2
    assert posts[2].headers["Authorization"] == f"Bearer {stored().access_token}"
    assert stored().access_token != first_access
    assert all(p.outcome == 201 for p in posts)


def test_a_401_refreshes_and_posts_again_within_one_send(bridge, x_api, adapter, message, clock):
    adapter.send(message(oauth2=True, text=TEXT + " 1"))
    # X's clock runs ahead of ours: to X the access token has expired, to us it has not.
    x_api.clock = lambda: clock() + 7200
    msg = message(oauth2=True, text=TEXT + " 2")
    result = adapter.send(msg)
    outcomes = [(r.path, r.outcome) for r in x_api.requests]
    assert outcomes == [
        ("/2/oauth2/token", 200),
        ("/2/tweets", 201),
        ("/2/tweets", 401),
        ("/2/oauth2/token", 200),
        ("/2/tweets", 201),
    ]
    assert result.external_id == x_api.tweets[-1].id
    assert msg.progress == {"post_requested": True}


def test_a_fresh_token_refused_again_is_permanent(bridge, x_api, adapter, message, monkeypatch):
    adapter.send(message(oauth2=True, text=TEXT + " 1"))
    monkeypatch.setattr(x_api, "_authenticate", lambda request: None)  # X refuses every token
    with pytest.raises(PermanentError) as caught:
        adapter.send(message(oauth2=True, text=TEXT + " 2"))
    assert caught.value.reason == "x: X refused a freshly refreshed access token (401)"
    outcomes = [(r.path, r.outcome) for r in x_api.requests[2:]]
    assert outcomes == [("/2/tweets", 401), ("/2/oauth2/token", 200), ("/2/tweets", 401)]


def test_refused_refresh_token_is_dead_with_a_clear_reason(bridge, x_api, adapter, message):
    msg = message(oauth2=True, token="x-refresh-token-already-spent")
    with pytest.raises(PermanentError) as caught:
        adapter.send(msg)
    assert caught.value.reason == "x: refresh token refused; put a new one in X_TOKEN_DINKES"
    assert x_api.requests_to("/2/tweets") == []
    assert msg.progress == {}
    assert stored() is None  # nothing to keep: the refused token's transaction rolled back


def test_a_401_then_a_refused_refresh_token_leaves_nothing_posted(bridge, x_api, adapter, message):
    adapter.send(message(oauth2=True, text=TEXT + " 1"))
    x_api.revoke_access_tokens()
    x_api.refresh_tokens.clear()  # the account revoked the app: its tokens are all dead
    msg = message(oauth2=True, text=TEXT + " 2")
    with pytest.raises(PermanentError) as caught:
        adapter.send(msg)
    assert caught.value.reason == "x: refresh token refused; put a new one in X_TOKEN_DINKES"
    assert [r.outcome for r in x_api.requests[2:]] == [401, 400]
    assert msg.progress == {"post_requested": False}


def test_the_operators_new_refresh_token_wins(bridge, x_api, adapter, message, clock):
    adapter.send(message(oauth2=True, text=TEXT + " 1"))
    chain = stored().refresh_token
    # The environment still holds the spent seed: the stored chain is used, the seed never again.
    clock.advance(7200)
    adapter.send(message(oauth2=True, text=TEXT + " 2"))
    assert [f["refresh_token"] for f in token_requests(x_api)] == [X_REFRESH_TOKEN, chain]
    # The operator authorised again and put the new refresh token in X_TOKEN_DINKES.
    fresh = x_api.issue_refresh_token(OAUTH2_USER)
    adapter.send(message(oauth2=True, token=fresh, text=TEXT + " 3"))
    assert token_requests(x_api)[-1]["refresh_token"] == fresh
    row = stored()
    assert row.seed_hash == hashlib.sha256(fresh.encode()).hexdigest()
    assert row.refresh_token == x_api.rotations[-1][1]
    assert len(x_api.tweets) == 3


def test_a_confidential_client_authenticates_with_basic(bridge, clock, message):
    with fake_x(clock, client_secret=X_CLIENT_SECRET) as x_api:
        confidential = adapter_for(x_api.url, clock, x_client_secret=X_CLIENT_SECRET)
        confidential.send(message(oauth2=True))
        (token_request,) = x_api.requests_to("/2/oauth2/token")
        basic = base64.b64encode(f"{X_CLIENT_ID}:{X_CLIENT_SECRET}".encode()).decode()
        assert token_request.headers["Authorization"] == f"Basic {basic}"
        assert token_request.form == {
            "grant_type": "refresh_token",
            "refresh_token": X_REFRESH_TOKEN,
        }
        assert len(x_api.tweets) == 1


def test_a_wrong_client_secret_is_permanent(bridge, clock, message):
    with fake_x(clock, client_secret=X_CLIENT_SECRET) as x_api:
        wrong = adapter_for(x_api.url, clock, x_client_secret="not-the-secret")
        with pytest.raises(PermanentError) as caught:
            wrong.send(message(oauth2=True))
    assert caught.value.reason == (
        "x: X refused the OAuth 2.0 client (unauthorized_client); check BRIDGE_X_CLIENT_ID and"
        " BRIDGE_X_CLIENT_SECRET"
    )
    assert "not-the-secret" not in caught.value.reason


def test_oauth2_without_a_client_id_sends_nothing(bridge, x_api, clock, message):
    with pytest.raises(PermanentError) as caught:
        adapter_for(x_api.url, clock, x_client_id=None).send(message(oauth2=True))
    assert (
        caught.value.reason == "x: provider not configured (auth oauth2 needs BRIDGE_X_CLIENT_ID)"
    )
    assert x_api.requests == []


def test_token_endpoint_down_is_retryable_and_spends_nothing(bridge, x_api, adapter, message):
    x_api.fail_next(1, status=503, body={"title": "Service Unavailable"})
    with pytest.raises(RetryableError, match="token refresh: server error 503"):
        adapter.send(message(oauth2=True))
    assert x_api.refresh_tokens.get(X_REFRESH_TOKEN) == OAUTH2_USER
    adapter.send(message(oauth2=True))
    assert len(x_api.tweets) == 1


def race(app, adapter, messages) -> list:
    """Send each message from its own thread, all released at once; return what each got."""
    barrier = threading.Barrier(len(messages))
    results: list = [None] * len(messages)

    def run(index, msg):
        with app.app_context():
            barrier.wait()
            try:
                results[index] = adapter.send(msg)
            except Exception as exc:  # reported to the test, not swallowed
                results[index] = exc

    threads = [threading.Thread(target=run, args=item) for item in enumerate(messages)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.mark.parametrize("first_time", [True, False], ids=["no-row-yet", "expired-row"])
def test_two_workers_refresh_once(bridge, x_api, adapter, message, clock, first_time):
    if not first_time:
        adapter.send(message(oauth2=True, text=TEXT + " 0"))
        clock.advance(7200)  # expired for both sides: both workers want a refresh
    before = len(token_requests(x_api))
    # Hold the winner's token request, so the other worker arrives while it holds the row lock.
    x_api.delay_next(0.5)
    messages = [message(oauth2=True, text=f"{TEXT} t{n}") for n in range(2)]
    results = race(bridge, adapter, messages)
    assert all(isinstance(r, SendResult) for r in results), results
    assert len(token_requests(x_api)) == before + 1
    assert len(x_api.rotations) == before + 1
    posts = x_api.requests_to("/2/tweets")[-2:]
    assert {p.outcome for p in posts} == {201}
    assert posts[0].headers["Authorization"] == posts[1].headers["Authorization"]
    assert stored().refresh_token == x_api.rotations[-1][1]


def test_two_workers_refresh_once_on_sqlite(tmp_path, x_api, clock, make_message):
    url = f"sqlite:///{tmp_path / 'bridge.db'}"
    upgrade(url)
    env = {
        "BRIDGE_DATABASE_URL": url,
        "BRIDGE_BROKER_URL": f"sqla+sqlite:///{tmp_path / 'broker.db'}",
        "BRIDGE_SANDBOX": "1",
    }
    app = create_app(settings=Settings.from_env(env))
    try:
        use_directory(app, DIRECTORY)
        with app.app_context():
            delivery_id = delivery_to(OAUTH2_USER)
        adapter = adapter_for(x_api.url, clock)
        x_api.delay_next(0.5)
        messages = [
            make_message(
                delivery_id=delivery_id,
                kind="x",
                target=OAUTH2_USER,
                text=f"{TEXT} s{n}",
                payload={},
                token=X_REFRESH_TOKEN,
            )
            for n in range(2)
        ]
        results = race(app, adapter, messages)
        assert all(isinstance(r, SendResult) for r in results), results
        assert len(x_api.rotations) == 1 and len(x_api.tweets) == 2
    finally:
        engine_of(app).dispose()


# Limits


def test_rate_limit_waits_until_the_reset(bridge, x_api, adapter, message):
    x_api.limit = 1
    adapter.send(message())
    with pytest.raises(ThrottledError) as caught:
        adapter.send(message(text=TEXT + " 2"))
    assert caught.value.reason == "x: too many requests"
    assert caught.value.retry_after == 900


def test_last_call_of_a_window_slows_down(bridge, x_api, adapter, message):
    x_api.limit = 1
    assert adapter.send(message()).slow_down == 900


def test_reset_header_in_epoch_seconds(bridge, x_api, adapter, message, clock):
    x_api.fail_next(
        1,
        status=429,
        body={"title": "Too Many Requests", "status": 429},
        headers={"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(clock()) + 120)},
    )
    with pytest.raises(ThrottledError) as caught:
        adapter.send(message())
    assert caught.value.retry_after == 120


def test_the_apps_daily_cap_waits_for_the_apps_reset(bridge, clock, message):
    # One account spends the app's last post of the day; another account of the same app then
    # meets the app-wide cap while its own windows are nearly untouched.
    with fake_x(clock, app_daily_limit=1) as x_api:
        adapter = adapter_for(x_api.url, clock)
        assert adapter.send(message()).slow_down == 86400
        clock.advance(3600)
        with pytest.raises(ThrottledError) as caught:
            adapter.send(message(oauth2=True))
        assert caught.value.retry_after == 86400 - 3600
        assert caught.value.reason == "x: too many requests (the app's 24-hour cap spent)"
        (refused,) = [r for r in x_api.requests_to("/2/tweets") if r.outcome == 429]
        assert refused.headers["Authorization"].startswith("Bearer ")
        assert [t.user for t in x_api.tweets] == [X_USER]


def test_the_accounts_daily_cap(bridge, clock, message):
    with fake_x(clock, user_daily_limit=1) as x_api:
        adapter = adapter_for(x_api.url, clock)
        assert adapter.send(message()).slow_down == 86400
        with pytest.raises(ThrottledError) as caught:
            adapter.send(message(text=TEXT + " 2"))
        assert caught.value.retry_after == 86400
        assert caught.value.reason == "x: too many requests (the account's 24-hour cap spent)"


def test_when_several_windows_are_spent_wait_for_the_last(bridge, x_api, adapter, message, clock):
    now = int(clock())
    x_api.fail_next(
        1,
        status=429,
        body={"title": "Too Many Requests", "status": 429},
        headers={
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": str(now + 120),
            "x-app-limit-24hour-remaining": "0",
            "x-app-limit-24hour-reset": str(now + 3600),
            "x-user-limit-24hour-remaining": "7",
            "x-user-limit-24hour-reset": str(now + 7200),
        },
    )
    with pytest.raises(ThrottledError) as caught:
        adapter.send(message())
    assert caught.value.retry_after == 3600


# Other answers


def test_other_forbidden_is_permanent(bridge, x_api, adapter, message):
    x_api.fail_next(
        1,
        status=403,
        body={"detail": "You are not permitted to perform this action.", "status": 403},
    )
    with pytest.raises(PermanentError, match="not permitted"):
        adapter.send(message())


def test_server_error_retries(bridge, x_api, adapter, message):
    x_api.fail_next(1, status=503, body={"title": "Service Unavailable"})
    with pytest.raises(RetryableError, match="503"):
        adapter.send(message())


def test_duplicate_after_our_own_earlier_attempt_counts_as_posted(bridge, x_api, adapter, message):
    first = message()
    adapter.send(first)
    again = adapter.send(message(progress=first.progress))
    assert again == SendResult(external_id=None)
    assert len(x_api.tweets) == 1
    assert x_api.last.outcome == 403


def test_duplicate_with_no_attempt_on_record_needs_review(bridge, x_api, adapter, message):
    adapter.send(message())
    with pytest.raises(OutcomeUnknownError, match="duplicate"):
        adapter.send(message())


def test_too_long_text_is_refused_before_sending(bridge, x_api, adapter, message):
    with pytest.raises(PermanentError, match="280"):
        adapter.send(message(text="a" * 281))
    assert x_api.requests == []


def test_the_fake_refuses_what_x_refuses(x_api):
    bearer = {"Authorization": f"Bearer {x_api.issue_access_token()}"}
    response = requests.post(
        f"{x_api.url}/2/tweets", json={"text": "道" * 141}, headers=bearer, timeout=5
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "Your Tweet text is too long."
    fits = requests.post(
        f"{x_api.url}/2/tweets", json={"text": "道" * 128 + " " + LINK}, headers=bearer, timeout=5
    )
    assert fits.status_code == 201 and "https://t.co/" in fits.json()["data"]["text"]
    unsigned = requests.post(f"{x_api.url}/2/tweets", json={"text": "uji"}, timeout=5)
    assert unsigned.status_code == 401
