"""The S3 layout: the filesystem's content-addressed layout as object keys in one bucket, under a prefix.

    <prefix>/blobs/sha256/ab/<hex>     verified blobs, published by a server-side copy once their digest matched
    <prefix>/uploads/<id>/blob         the S3 multipart upload of an NGC file or an OCI chunked upload
    <prefix>/uploads/<id>/tail-<end>   an OCI upload's bytes past its last full part (S3 parts are >= 5 MiB)
    <prefix>/tmp/<name>                content being written (monolithic pushes, manifests, restores)

Bytes stream in parts of PART_SIZE; no blob is ever held whole in memory.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterator
from typing import BinaryIO

from .maintenance import MissingPartsError, StoredBlob
from .s3_client import S3Location, client_error_code, translate_errors

PART_SIZE = 8 << 20  # every part of an OCI upload but the last; >= S3's 5 MiB minimum
MIN_PART_SIZE = 5 << 20
COPY_THRESHOLD = 5 << 30  # CopyObject's limit: larger blobs are copied part by part
READ_SIZE = 4 << 20
_BLOB_KEY = re.compile(r"/blobs/(sha256|sha512)/([a-f0-9]{2})/([a-f0-9]{64}|[a-f0-9]{128})$")


class _Body:
    """A GetObject body as a closable binary stream."""

    def __init__(self, body):
        self._body = body

    def read(self, size: int = -1) -> bytes:
        return self._body.read(None if size is None or size < 0 else size)

    def close(self) -> None:
        self._body.close()

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.close()


class S3Writer:
    """Streams content to one key while hashing it: a single PUT when small, else a multipart upload."""

    def __init__(self, store: S3Store, key: str):
        self.store, self.path, self.size = store, key, 0
        self._hash, self._buffer = hashlib.sha256(), bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict] = []

    def write(self, data: bytes) -> None:
        self._hash.update(data)
        self._buffer += data
        self.size += len(data)
        while len(self._buffer) >= PART_SIZE:
            self._send(bytes(self._buffer[:PART_SIZE]))
            del self._buffer[:PART_SIZE]

    def _send(self, data: bytes) -> None:
        if self._upload_id is None:
            self._upload_id = self.store.create_multipart(self.path)
        number = len(self._parts) + 1
        self._parts.append({"PartNumber": number, "ETag": self.store.put_part(self.path, self._upload_id, number,
                                                                              data)})

    def finish(self) -> str:
        if self._upload_id is None:
            self.store.put(self.path, bytes(self._buffer))
        else:
            if self._buffer:
                self._send(bytes(self._buffer))
            self.store.finish_multipart(self.path, self._upload_id, self._parts)
        self._buffer = bytearray()
        return "sha256:" + self._hash.hexdigest()

    def discard(self) -> None:
        if self._upload_id is not None:
            self.store.abort(self.path, self._upload_id)
        self.store.delete_key(self.path)


class ChunkWriter:
    """One OCI chunk, appended to the upload's multipart upload at byte `offset` (the bytes committed so far).

    Parts are numbered by offset (part n holds bytes [(n-1)*PART_SIZE, n*PART_SIZE)) and the remainder is a tail
    object named by the offset it ends at: a chunk that fails half-way leaves only parts a retry overwrites and a
    tail no one asks for, and any replica can continue from the offset in the database.
    """

    def __init__(self, store: S3Store, upload_id: str, offset: int):
        self.store, self.upload_id, self.offset, self.size = store, upload_id, offset, 0
        self._hash, self._next = hashlib.sha256(), offset // PART_SIZE + 1
        self._buffer = bytearray(store.read_tail(upload_id, offset))
        self._multipart: str | None = None

    def write(self, data: bytes) -> None:
        self._hash.update(data)
        self._buffer += data
        self.size += len(data)
        while len(self._buffer) >= PART_SIZE:
            if self._multipart is None:
                self._multipart = self.store.upload_multipart(self.upload_id, create=True)
            self.store.put_part(self.store.upload_key(self.upload_id), self._multipart, self._next,
                                bytes(self._buffer[:PART_SIZE]))
            del self._buffer[:PART_SIZE]
            self._next += 1

    def finish(self) -> str:
        if self._buffer:
            self.store.put(self.store.tail_key(self.upload_id, self.offset + self.size), bytes(self._buffer))
        self._buffer = bytearray()
        return "sha256:" + self._hash.hexdigest()

    def discard(self) -> None:
        self._buffer = bytearray()


class S3Store:
    presigns = True
    min_part_size = MIN_PART_SIZE

    def __init__(self, location: S3Location, client):
        self.location, self.bucket, self.client = location, location.bucket, client
        self.prefix = location.prefix.strip("/") + "/" if location.prefix.strip("/") else ""

    # -- keys ------------------------------------------------------------------------------------------------

    def blob_key(self, digest: str) -> str:
        algorithm, _, hexdigest = digest.partition(":")
        return f"{self.prefix}blobs/{algorithm}/{hexdigest[:2]}/{hexdigest}"

    def upload_key(self, upload_id: str) -> str:
        return f"{self.prefix}uploads/{upload_id}/blob"

    def tail_key(self, upload_id: str, end: int) -> str:
        return f"{self.prefix}uploads/{upload_id}/tail-{end}"

    # -- object calls ----------------------------------------------------------------------------------------

    @translate_errors
    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data)

    @translate_errors
    def head(self, key: str) -> dict | None:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=key)
        except Exception as error:
            if client_error_code(error) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    @translate_errors
    def open_key(self, key: str, byte_range: str | None = None) -> BinaryIO:
        try:
            extra = {"Range": byte_range} if byte_range else {}
            return _Body(self.client.get_object(Bucket=self.bucket, Key=key, **extra)["Body"])
        except Exception as error:
            if client_error_code(error) in ("404", "NoSuchKey"):
                raise FileNotFoundError(key) from None
            raise

    @translate_errors
    def delete_key(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    @translate_errors
    def create_multipart(self, key: str) -> str:
        return self.client.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"]

    @translate_errors
    def put_part(self, key: str, upload_id: str, number: int, data: bytes) -> str:
        return self.client.upload_part(Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number,
                                       Body=data)["ETag"]

    @translate_errors
    def finish_multipart(self, key: str, upload_id: str, parts: list[dict]) -> None:
        self.client.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id,
                                              MultipartUpload={"Parts": parts})

    @translate_errors
    def abort(self, key: str, upload_id: str) -> None:
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except Exception as error:
            if client_error_code(error) not in ("404", "NoSuchUpload"):
                raise

    def _list(self, prefix: str) -> Iterator[dict]:
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            yield from page.get("Contents", [])

    def _multiparts(self, prefix: str) -> Iterator[dict]:
        for page in self.client.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket, Prefix=prefix):
            yield from page.get("Uploads", [])

    @translate_errors
    def _parts(self, key: str, upload_id: str) -> list[dict]:
        pages = self.client.get_paginator("list_parts").paginate(Bucket=self.bucket, Key=key, UploadId=upload_id)
        return [part for page in pages for part in page.get("Parts", [])]

    # -- blobs -----------------------------------------------------------------------------------------------

    def has_blob(self, digest: str) -> bool:
        return self.head(self.blob_key(digest)) is not None

    def blob_size(self, digest: str) -> int | None:
        found = self.head(self.blob_key(digest))
        return None if found is None else found["ContentLength"]

    def open_blob(self, digest: str, byte_range: str | None = None) -> BinaryIO:
        return self.open_key(self.blob_key(digest), byte_range)

    def read_range(self, digest: str, start: int, end: int) -> bytes:
        """Bytes start..end (inclusive) of a blob."""
        with self.open_blob(digest, f"bytes={start}-{end}") as stream:
            return stream.read()

    def local_path(self, digest: str) -> None:
        return None

    def delete_blob(self, digest: str) -> None:
        self.delete_key(self.blob_key(digest))

    def temp_writer(self) -> S3Writer:
        return S3Writer(self, f"{self.prefix}tmp/{uuid.uuid4().hex}")

    @translate_errors
    def promote(self, source: str, digest: str) -> None:
        """Publish verified content under its digest: a server-side copy, then the source goes."""
        target = self.blob_key(digest)
        if self.head(target) is None:
            from boto3.s3.transfer import TransferConfig

            self.client.copy({"Bucket": self.bucket, "Key": source}, self.bucket, target,
                             Config=TransferConfig(multipart_threshold=COPY_THRESHOLD, multipart_chunksize=1 << 30))
        self.delete_key(source)

    def delete_source(self, source: str) -> None:
        self.delete_key(source)

    def digest_file(self, source: str, algorithm: str) -> str:
        return self.digest_and_size(source, algorithm)[0]

    def digest_and_size(self, key: str, algorithm: str = "sha256") -> tuple[str, int]:
        """Read an object back whole, hashing it: what makes content trustworthy before it is published."""
        hasher, size = hashlib.new(algorithm), 0
        with self.open_key(key) as stream:
            while chunk := stream.read(READ_SIZE):
                hasher.update(chunk)
                size += len(chunk)
        return f"{algorithm}:{hasher.hexdigest()}", size

    @translate_errors
    def download_url(self, digest: str, filename: str | None, ttl: int) -> str:
        params = {"Bucket": self.bucket, "Key": self.blob_key(digest)}
        if filename:
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=ttl)

    # -- NGC multipart uploads: the client PUTs parts straight to presigned UploadPart URLs ----------------------

    @translate_errors
    def upload_multipart(self, upload_id: str, create: bool) -> str | None:
        """The S3 upload id behind an upload (the oldest, should two replicas have raced to create it)."""
        key = self.upload_key(upload_id)
        found = sorted((u for u in self._multiparts(key) if u["Key"] == key), key=lambda u: u["Initiated"])
        if found:
            return found[0]["UploadId"]
        return self.create_multipart(key) if create else None

    @translate_errors
    def part_urls(self, upload_id: str, numbers: list[int], ttl: int) -> list[str]:
        multipart = self.upload_multipart(upload_id, create=True)
        return [self.client.generate_presigned_url(
            "upload_part", ExpiresIn=ttl, Params={"Bucket": self.bucket, "Key": self.upload_key(upload_id),
                                                  "UploadId": multipart, "PartNumber": number})
            for number in numbers]

    def complete_parts(self, upload_id: str, count: int, size: int) -> tuple[str, str, int]:
        """Complete the upload from the parts S3 lists, then read it back: (source, sha256, size)."""
        key = self.upload_key(upload_id)
        multipart = self.upload_multipart(upload_id, create=False)
        if multipart is not None or self.head(key) is None:  # else: completed by an attempt that did not publish
            self._finish_parts(key, multipart, count, size)
        return (key, *self.digest_and_size(key))

    def _finish_parts(self, key: str, multipart: str | None, count: int, size: int) -> None:
        parts = {p["PartNumber"]: p["ETag"] for p in self._parts(key, multipart)} if multipart else {}
        missing = [n for n in range(1, count + 1) if n not in parts]
        if size == 0:
            self.put(key, b"")
        elif missing:
            raise MissingPartsError(missing)
        else:
            self.finish_multipart(key, multipart, [{"PartNumber": n, "ETag": parts[n]} for n in range(1, count + 1)])

    # -- OCI chunked uploads -----------------------------------------------------------------------------------

    def chunk_writer(self, upload_id: str, number: int, offset: int) -> ChunkWriter:
        return ChunkWriter(self, upload_id, offset)

    def keep_part(self, writer: ChunkWriter, upload_id: str, number: int) -> None:
        """Nothing to do: the chunk's parts and tail are in place once it finished."""

    def read_tail(self, upload_id: str, end: int) -> bytes:
        if end % PART_SIZE == 0:
            return b""
        with self.open_key(self.tail_key(upload_id, end)) as stream:
            return stream.read()

    @translate_errors
    def upload_chunks(self, upload_id: str, count: int, sha256: str | None, size: int = 0) -> tuple[str, str, int]:
        """An OCI upload's bytes as one object: (source, sha256, size); re-read unless one chunk was hashed."""
        full, tail = divmod(size, PART_SIZE)
        if size == 0 or full == 0:
            key = self.tail_key(upload_id, size)
            if size == 0:
                self.put(key, b"")
        else:
            key = self.upload_key(upload_id)
            self._complete_chunks(upload_id, full, size if tail else 0)
        if count == 1 and sha256:
            return key, sha256, size
        return (key, *self.digest_and_size(key))

    def _complete_chunks(self, upload_id: str, full: int, tail_end: int) -> None:
        key, multipart = self.upload_key(upload_id), self.upload_multipart(upload_id, create=False)
        parts = {p["PartNumber"]: p["ETag"] for p in self._parts(key, multipart)} if multipart else {}
        if any(n not in parts for n in range(1, full + 1)):
            raise MissingPartsError([n for n in range(1, full + 1) if n not in parts])
        chosen = [{"PartNumber": n, "ETag": parts[n]} for n in range(1, full + 1)]
        if tail_end:
            copied = self.client.upload_part_copy(
                Bucket=self.bucket, Key=key, UploadId=multipart, PartNumber=full + 1,
                CopySource={"Bucket": self.bucket, "Key": self.tail_key(upload_id, tail_end)})
            chosen.append({"PartNumber": full + 1, "ETag": copied["CopyPartResult"]["ETag"]})
        self.finish_multipart(key, multipart, chosen)

    # -- what garbage collection, fsck and backup use (storage/maintenance.py) --------------------------------

    @translate_errors
    def drop_upload(self, upload_id: str) -> None:
        area = f"{self.prefix}uploads/{upload_id}/"
        for upload in list(self._multiparts(area)):
            self.abort(upload["Key"], upload["UploadId"])
        for item in list(self._list(area)):
            self.delete_key(item["Key"])

    @translate_errors
    def list_blobs(self) -> Iterator[StoredBlob]:
        for item in self._list(f"{self.prefix}blobs/"):
            found = _BLOB_KEY.search("/" + item["Key"])
            if found and found[3][:2] == found[2]:
                yield StoredBlob(f"{found[1]}:{found[3]}", item["Size"], item["LastModified"].timestamp())

    @translate_errors
    def list_uploads(self) -> Iterator[tuple[str, float]]:
        area, latest = f"{self.prefix}uploads/", {}
        times = [(i["Key"], i["LastModified"]) for i in self._list(area)]
        times += [(u["Key"], u["Initiated"]) for u in self._multiparts(area)]
        for key, when in times:
            upload_id = key[len(area):].split("/", 1)[0]
            latest[upload_id] = max(latest.get(upload_id, 0.0), when.timestamp())
        yield from latest.items()

    @translate_errors
    def list_temp(self) -> Iterator[tuple[str, float, int]]:
        area = f"{self.prefix}tmp/"
        for item in list(self._list(area)):
            yield item["Key"][len(area):], item["LastModified"].timestamp(), item["Size"]
        for upload in list(self._multiparts(area)):  # a write in progress: as old as its latest part
            parts = self._parts(upload["Key"], upload["UploadId"])
            latest = max([upload["Initiated"], *(part["LastModified"] for part in parts)])
            yield upload["Key"][len(area):], latest.timestamp(), sum(part["Size"] for part in parts)

    @translate_errors
    def delete_temp(self, name: str) -> None:
        key = f"{self.prefix}tmp/{name}"
        for upload in list(self._multiparts(key)):
            if upload["Key"] == key:
                self.abort(key, upload["UploadId"])
        self.delete_key(key)

    @translate_errors
    def ping(self) -> None:
        """Raise OSError unless the bucket answers."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception as error:
            if client_error_code(error) in ("404", "NoSuchBucket"):
                raise OSError(f"the bucket '{self.bucket}' does not exist") from None
            raise
