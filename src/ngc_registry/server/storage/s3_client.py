"""Where an S3 store is (`s3://bucket/prefix`, endpoint, region, credentials) and the boto3 client that reaches it."""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-_]{1,254}$")


class StoreConfigError(ValueError):
    """A storage URL or S3 setting that cannot work; the message is one sentence for the operator."""


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None
    region: str = "us-east-1"
    access_key_id: str | None = None
    secret_access_key: str | None = None


def parse_location(url: str, endpoint_url: str | None = None, region: str | None = None,
                   access_key_id: str | None = None, secret_access_key: str | None = None) -> S3Location:
    """`s3://bucket[/prefix]`, with unset settings taken from the standard AWS variables."""
    if not url.startswith("s3://"):
        raise StoreConfigError(f"Invalid storage '{url}': use a directory or s3://bucket/prefix.")
    bucket, _, prefix = url[len("s3://"):].partition("/")
    if not _BUCKET.match(bucket):
        raise StoreConfigError(f"Invalid storage '{url}': '{bucket}' is not an S3 bucket name.")
    return S3Location(bucket, prefix.strip("/"), endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None,
                      region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
                      access_key_id or os.environ.get("AWS_ACCESS_KEY_ID"),
                      secret_access_key or os.environ.get("AWS_SECRET_ACCESS_KEY"))


def make_client(location: S3Location):
    """Path-style addressing and SigV4 (what every S3-compatible store accepts); checksums only where required."""
    import boto3
    from botocore.config import Config

    config = Config(s3={"addressing_style": "path"}, signature_version="s3v4", max_pool_connections=32,
                    retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=120,
                    request_checksum_calculation="when_required", response_checksum_validation="when_required")
    return boto3.client("s3", endpoint_url=location.endpoint_url, region_name=location.region,
                        aws_access_key_id=location.access_key_id, aws_secret_access_key=location.secret_access_key,
                        config=config)


def client_error_code(error: BaseException) -> str | None:
    response = getattr(error, "response", None)
    return str(response.get("Error", {}).get("Code")) if isinstance(response, dict) else None


def translate_errors(function):
    """botocore's failures (unreachable endpoint, refused credentials) as OSError, which callers already handle."""
    from botocore.exceptions import BotoCoreError, ClientError

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except ClientError as error:
            if client_error_code(error) in ("404", "NoSuchKey"):
                raise
            raise OSError(f"S3: {error}") from error
        except BotoCoreError as error:
            raise OSError(f"S3: {error}") from error

    return wrapper
