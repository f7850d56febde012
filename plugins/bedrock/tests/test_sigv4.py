"""SigV4: AWS's published test-suite vectors, botocore's signer as an oracle, per-attempt signing, no leaks."""

from __future__ import annotations

import datetime
import json
from typing import Any

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liter_llm_bedrock import AwsCredentials, sign
from liter_llm_bedrock._sigv4 import sign_request

from .conftest import ACCESS_KEY, FIXTURES, SECRET_KEY, Runner

SUITE = json.loads((FIXTURES / "sigv4_vectors.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("vector", SUITE["vectors"], ids=lambda v: v["name"])
def test_published_vectors(vector: dict[str, Any]) -> None:
    creds = SUITE["credentials"]
    token = SUITE["sts_token"]
    headers = {k: (token if v == "@sts_token" else v) for k, v in vector["headers"].items()}
    authz = sign(
        method=vector["method"],
        raw_path=vector["path"],
        query=vector["query"],
        headers=headers,
        body=vector["body"].encode(),
        credentials=AwsCredentials(creds["access_key_id"], creds["secret_access_key"]),
        region=SUITE["region"],
        service=SUITE["service"],
        amz_date=SUITE["amz_date"],
    )
    assert authz == vector["authz"]


def _botocore_authorization(request: httpx.Request, creds: AwsCredentials, region: str, monkeypatch: Any) -> str:
    """What botocore's SigV4 signer says for the same request, at the same instant, over the same headers."""
    stamp = datetime.datetime.strptime(request.headers["x-amz-date"], "%Y%m%dT%H%M%SZ")
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: stamp)
    signed = request.headers["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    headers = {
        name: request.headers[name] for name in signed if name not in ("host", "x-amz-date", "x-amz-security-token")
    }
    aws = botocore.awsrequest.AWSRequest(
        method=request.method, url=str(request.url), data=request.content, headers=headers
    )
    botocore.auth.SigV4Auth(
        botocore.credentials.Credentials(creds.access_key_id, creds.secret_access_key, creds.session_token),
        "bedrock",
        region,
    ).add_auth(aws)
    return str(aws.headers["Authorization"])


MODELS = [
    "anthropic.claude-3-5-sonnet-20241022-v2:0",
    "us.anthropic.claude-3-5-sonnet-20241022-v2:0",
    "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20241022-v2:0",
]


@pytest.mark.parametrize("model", MODELS)
def test_signature_matches_botocore_through_the_client(
    run: Runner, model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = {"output": {"message": {"role": "assistant", "content": [{"text": "hi"}]}}, "stopReason": "end_turn"}
    run("chat", lambda r: httpx.Response(200, json=body), model=model, messages=[{"role": "user", "content": "Hi ü"}])
    request = run.requests[0]
    assert b"%3A" not in request.url.raw_path  # ":" travels as it is: no transport may unescape it
    assert request.headers["authorization"] == _botocore_authorization(
        request, AwsCredentials(ACCESS_KEY, SECRET_KEY), "us-east-1", monkeypatch
    )


def test_session_token_is_signed_and_sent(run: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token-value")
    body = {"output": {"message": {"role": "assistant", "content": [{"text": "hi"}]}}, "stopReason": "end_turn"}
    run(
        "chat", lambda r: httpx.Response(200, json=body), model="m.x-v1:0", messages=[{"role": "user", "content": "Hi"}]
    )
    request = run.requests[0]
    assert request.headers["x-amz-security-token"] == "session-token-value"
    assert "x-amz-security-token" in request.headers["authorization"]
    creds = AwsCredentials(ACCESS_KEY, SECRET_KEY, "session-token-value")
    assert request.headers["authorization"] == _botocore_authorization(request, creds, "us-east-1", monkeypatch)


def test_every_retry_is_signed_again(run: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter(
        [httpx.Response(503, json={"message": "busy"}, headers={"x-amzn-errortype": "ServiceUnavailableException"})]
    )
    ok = {"output": {"message": {"role": "assistant", "content": [{"text": "hi"}]}}, "stopReason": "end_turn"}
    run(
        "chat",
        lambda r: next(answers, httpx.Response(200, json=ok)),
        model="m.x-v1:0",
        messages=[{"role": "user", "content": "Hi"}],
        client_options={"max_retries": 1},
    )
    assert len(run.requests) == 2
    for request in run.requests:
        assert request.headers["authorization"].count("AWS4-HMAC-SHA256") == 1
        assert request.headers["authorization"] == _botocore_authorization(
            request, AwsCredentials(ACCESS_KEY, SECRET_KEY), "us-east-1", monkeypatch
        )


_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20)


@settings(max_examples=60, deadline=None)
@given(
    body=st.binary(max_size=200),
    segments=st.lists(_text.filter(bool), min_size=1, max_size=3),
    query=st.dictionaries(_text.filter(bool), _text, max_size=3),
    value=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=20).map(lambda s: f"  {s}  "),
    token=st.one_of(st.none(), st.text(alphabet="abcdef0123456789+/=", min_size=1, max_size=30)),
)
def test_signer_agrees_with_botocore(
    body: bytes, segments: list[str], query: dict[str, str], value: str, token: str | None
) -> None:
    """Any path, query, header value, body and token: the same signature as botocore's."""
    from urllib.parse import quote

    path = "/" + "/".join(quote(s, safe="") for s in segments)
    # the query RFC 3986-encoded, as AWS SDKs send it (botocore signs the query as it is given)
    encoded = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in query.items())
    url = httpx.URL("https://bedrock-runtime.eu-west-3.amazonaws.com" + path + ("?" + encoded if encoded else ""))
    request = httpx.Request(
        "POST", url, content=body, headers={"content-type": "application/json", "x-amz-meta": value}
    )
    creds = AwsCredentials("AKIDEXAMPLE", "secret/key+value", token)
    sign_request(request, creds, "eu-west-3", "bedrock", lambda: 1_700_000_000.0)
    stamp = datetime.datetime.strptime(request.headers["x-amz-date"], "%Y%m%dT%H%M%SZ")
    original = botocore.auth.get_current_datetime
    botocore.auth.get_current_datetime = lambda: stamp  # type: ignore[assignment]
    try:
        aws = botocore.awsrequest.AWSRequest(
            method="POST",
            url=str(request.url),
            data=body,
            headers={"content-type": "application/json", "x-amz-meta": value},
        )
        botocore.auth.SigV4Auth(
            botocore.credentials.Credentials(creds.access_key_id, creds.secret_access_key, token),
            "bedrock",
            "eu-west-3",
        ).add_auth(aws)
    finally:
        botocore.auth.get_current_datetime = original  # type: ignore[assignment]
    assert request.headers["authorization"] == aws.headers["Authorization"]


def test_credentials_never_show() -> None:
    creds = AwsCredentials("AKIAABCDEFGHIJKLMNOP", "very-secret-key", "very-secret-token")
    for text in (repr(creds), str(creds)):
        assert "very-secret" not in text
        assert "ABCDEFGH" not in text
