"""The options of one Bedrock provider: explicit ones (:func:`bedrock_provider`) and ``[plugins.<name>]``.

The table of a provider is ``call.config.plugins[<provider name>]`` (``[plugins.bedrock]`` in
``liter-llm.toml``, ``"plugins": {"bedrock": {...}}`` in JSON, ``plugins={"bedrock": {...}}`` for
``create_client``).  It is read per call, without I/O; an explicit option of the provider beats
the table's, and both beat the environment.  A bad field is a ``BadRequestError`` naming its path
(``plugins.bedrock.region``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs

from liter_llm import SecretStr
from liter_llm.errors import BadRequestError
from liter_llm_bedrock import _credentials as creds
from liter_llm_bedrock._sigv4 import AwsCredentials

__all__ = ["TABLE_FIELDS", "BedrockOptions", "options_from_table"]

_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")

#: the fields of a ``[plugins.<bedrock provider>]`` table
TABLE_FIELDS = frozenset(
    {
        "region",
        "profile",
        "access_key_id",
        "secret_access_key",
        "session_token",
        "api_key",
        "endpoint",
        "control_endpoint",
        "use_botocore",
    }
)
_SECRETS = ("secret_access_key", "session_token", "api_key")


def _secret(value: str | SecretStr | None) -> SecretStr | None:
    """A value as a SecretStr (``None`` stays ``None``)."""
    return creds.secret(value)


def _url(value: str | None) -> str | None:
    return None if value is None else value.strip().rstrip("/")


@attrs.frozen(kw_only=True, repr=False)
class BedrockOptions:
    """Explicit options of one Bedrock provider; each beats the ``[plugins.<name>]`` table and the environment.

    Attributes:
        region: the AWS region (``us-east-1``).
        access_key_id, secret_access_key, session_token: an explicit key pair (SigV4).
        api_key: a Bedrock API key (bearer, no signing).
        profile: a profile of ``~/.aws/credentials`` / ``~/.aws/config``.
        endpoint: the runtime address (a VPC endpoint, a proxy) instead of
            ``https://bedrock-runtime.{region}.amazonaws.com`` (or its ``/openai/v1`` for ``bedrock_openai``).
        control_endpoint: the control-plane address ``list_models`` uses instead of
            ``https://bedrock.{region}.amazonaws.com``.
        use_botocore: use botocore's credential chain when it is installed (``None``: yes), or never.
        clock: the time source of the signatures (``time.time``).
    """

    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = attrs.field(default=None, converter=_secret)
    session_token: SecretStr | None = attrs.field(default=None, converter=_secret)
    api_key: SecretStr | None = attrs.field(default=None, converter=_secret)
    profile: str | None = None
    endpoint: str | None = attrs.field(default=None, converter=_url)
    control_endpoint: str | None = attrs.field(default=None, converter=_url)
    use_botocore: bool | None = None
    clock: Callable[[], float] = time.time

    def __repr__(self) -> str:
        return (
            f"BedrockOptions(region={self.region!r}, profile={self.profile!r}, endpoint={self.endpoint!r}, "
            "credentials='***')"
        )

    def credentials(self) -> AwsCredentials | None:
        """The explicit key pair, if both halves are given."""
        if self.access_key_id and self.secret_access_key:
            token = self.session_token.get_secret_value() if self.session_token else None
            return AwsCredentials(self.access_key_id, self.secret_access_key.get_secret_value(), token)
        return None

    @property
    def botocore(self) -> bool:
        """Whether botocore's chain may be used (when it is installed)."""
        return self.use_botocore is not False

    def over(self, table: BedrockOptions) -> BedrockOptions:
        """These options, each unset one taken from ``table``.

        The credentials go as a whole: an explicit key pair, API key or profile of the provider leaves
        every credential of the table out (they would not belong together).
        """
        own_credentials = any(
            v is not None for v in (self.access_key_id, self.secret_access_key, self.api_key, self.profile)
        )
        values: dict[str, Any] = {}
        for field in attrs.fields(BedrockOptions):
            mine = getattr(self, field.name)
            if field.name == "clock":
                values["clock"] = mine
            elif field.name in ("access_key_id", "secret_access_key", "session_token", "api_key", "profile"):
                values[field.name] = mine if own_credentials else getattr(table, field.name)
            else:
                values[field.name] = mine if mine is not None else getattr(table, field.name)
        return BedrockOptions(**values)


def _text(table: Mapping[str, Any], name: str, where: str) -> str | None:
    value = table.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRequestError(f"{where}.{name}: expected a string, got {type(value).__name__}")
    return value.strip()


def _secret_field(table: Mapping[str, Any], name: str, where: str) -> SecretStr | None:
    value = table.get(name)
    if isinstance(value, SecretStr):
        return value if value.get_secret_value() else None
    if value is not None and not isinstance(value, str):
        # never show the value: it may be a secret of the wrong type
        raise BadRequestError(f"{where}.{name}: expected a string, got {type(value).__name__}")
    return SecretStr(value) if value else None


def _endpoint(table: Mapping[str, Any], name: str, where: str) -> str | None:
    value = _text(table, name, where)
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadRequestError(f"{where}.{name}: {value!r} is not an http(s) URL")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise BadRequestError(f"{where}.{name}: give the address without a query or credentials")
    return value


def check_region(region: str | None, where: str) -> str | None:
    """``region`` if it is a region name (``us-east-1``), else a BadRequestError naming ``where``."""
    if region is not None and not _REGION.match(region):
        raise BadRequestError(f"{where}: {region!r} is not a valid region name (such as us-east-1)", provider="bedrock")
    return region


def options_from_table(table: Any, where: str) -> BedrockOptions:
    """The options of a ``[plugins.<name>]`` table (``where`` is that path, for the errors)."""
    if table is None:
        return BedrockOptions()
    if not isinstance(table, Mapping):
        raise BadRequestError(f"{where}: expected a table, got {type(table).__name__}")
    for key in table:
        if key not in TABLE_FIELDS:
            raise BadRequestError(f"{where}.{key}: unknown field; known fields: {', '.join(sorted(TABLE_FIELDS))}")
    use_botocore = table.get("use_botocore")
    if use_botocore is not None and not isinstance(use_botocore, bool):
        raise BadRequestError(f"{where}.use_botocore: expected true or false")
    key_id = _text(table, "access_key_id", where)
    secret = _secret_field(table, "secret_access_key", where)
    if (key_id is None) != (secret is None):
        missing = "secret_access_key" if secret is None else "access_key_id"
        raise BadRequestError(f"{where}.{missing}: access_key_id and secret_access_key go together")
    token = _secret_field(table, "session_token", where)
    if token is not None and key_id is None:
        raise BadRequestError(f"{where}.session_token: needs access_key_id and secret_access_key")
    return BedrockOptions(
        region=check_region(_text(table, "region", where), f"{where}.region"),
        profile=_text(table, "profile", where),
        access_key_id=key_id,
        secret_access_key=secret,
        session_token=token,
        api_key=_secret_field(table, "api_key", where),
        endpoint=_endpoint(table, "endpoint", where),
        control_endpoint=_endpoint(table, "control_endpoint", where),
        use_botocore=use_botocore,
    )
