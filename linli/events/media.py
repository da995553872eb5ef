"""Evidence media (snapshots, clips): files in the data dir, or an S3-compatible object store when configured.

Callers use the functions at the bottom (`save`, `stream`, `read`, `delete`, `listing`, `folders`).
Both backends are Django storages, chosen by `STORAGES["default"]` in settings, so any later
FileField (face photos, attachments) lands in the same store.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import mimetypes
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.core.files.storage import FileSystemStorage, storages

# A reference is a relative POSIX path of plain segments: no "..", no leading "/" or ".", no "\".
REF_PATTERN = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*(/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*$")
TEMP_PREFIX = ".part-"  # a write in progress (or one a crash interrupted); never a valid reference
S3_DELETE_MAX = 1000  # objects per DeleteObjects request (the S3 API's limit)
STREAM_CHUNK = 64 * 1024


class MediaUnavailable(OSError):
    """The media store could not be reached or refused the request; the caller may retry later."""


class MediaMissing(FileNotFoundError):
    """No file under this reference (never written, or already purged)."""


@dataclass(frozen=True)
class StoredMedia:
    ref: str
    modified: dt.datetime
    size: int


def check_ref(ref: str) -> str:
    if not isinstance(ref, str) or len(ref) > 255 or not REF_PATTERN.match(ref) or ".." in ref.split("/"):
        raise ValueError("not a media reference")
    return ref


def content_type(ref: str) -> str:
    kind, _ = mimetypes.guess_type(ref)
    return kind or "application/octet-stream"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class DiskStorage(FileSystemStorage):
    """Files under MEDIA_ROOT, each written to a temporary name, flushed to disk, then renamed.

    A crash therefore never leaves half a picture under a name an event refers to: the event is
    stored only after `write` returned, and the rename is atomic. The directory is synced too,
    so a power cut after the event's commit cannot lose the file (SQLite runs synchronous=FULL).
    """

    def write(self, name: str, data: bytes) -> None:
        self._write_chunks(Path(self.path(name)), [data])

    def _save(self, name: str, content: Any) -> str:
        # Django's own save path (FileFields) gets the same temp-then-rename guarantee.
        self._write_chunks(Path(self.path(name)), content.chunks())
        return str(name).replace("\\", "/")

    def _write_chunks(self, path: Path, chunks: Iterable[bytes]) -> None:
        for attempt in (1, 2):
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
                break
            except FileNotFoundError:
                # The purge removed the (empty) directory between our mkdir and mkstemp; once more.
                if attempt == 2:
                    raise
        try:
            with os.fdopen(fd, "wb") as fh:
                for chunk in chunks:
                    fh.write(chunk)
                fh.flush()
                os.fsync(fh.fileno())
            if self.file_permissions_mode is not None:
                os.chmod(tmp, self.file_permissions_mode)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        _fsync_dir(path.parent)

    def reader(self, name: str) -> tuple[IO[bytes], int]:
        path = self.path(name)
        try:
            fh = open(path, "rb")  # noqa: SIM115 — the caller closes it after streaming
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise MediaMissing(name) from exc
        return fh, os.fstat(fh.fileno()).st_size

    def delete_many(self, names: Iterable[str]) -> int:
        deleted = 0
        parents: set[Path] = set()
        for name in names:
            path = Path(self.path(name))
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            deleted += 1
            parents.add(path.parent)
        root = Path(self.location)
        for parent in sorted(parents, key=lambda p: len(p.parts), reverse=True):
            self._remove_empty_dirs(parent, root)
        return deleted

    @staticmethod
    def _remove_empty_dirs(directory: Path, root: Path) -> None:
        # Day folders emptied by the purge go too, up to (not including) the media root.
        while directory != root and root in directory.parents:
            try:
                directory.rmdir()
            except OSError:  # not empty (or already gone): stop climbing
                return
            directory = directory.parent

    def walk(self, prefix: str) -> Iterator[StoredMedia]:
        top = Path(self.path(prefix))
        root = Path(self.location)
        for folder, _dirs, files in os.walk(top):
            for filename in files:
                path = Path(folder) / filename
                try:
                    st = path.stat()
                except FileNotFoundError:
                    continue
                yield StoredMedia(path.relative_to(root).as_posix(),
                                  dt.datetime.fromtimestamp(st.st_mtime, tz=dt.UTC), st.st_size)

    def folders(self, prefix: str) -> list[str]:
        try:
            dirs, _files = self.listdir(prefix)
        except FileNotFoundError:
            return []
        return sorted(dirs)


def _object_storage_class() -> type:
    # boto3 costs ~0.3 s and ~20 MB at import: only deployments with a bucket pay for it.
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError
    from storages.backends.s3 import S3Storage

    class ObjectStorage(S3Storage):
        """An S3-compatible bucket (MinIO, Ceph, a domestic OSS with an S3 API), signed with SigV4.

        An S3 PUT is atomic: the object appears whole or not at all. Checksums are sent only where
        the API requires them, because the default CRC32 trailers of recent boto3 releases are
        refused by many S3-compatible services.
        """

        def __init__(self, **options: Any):
            options.setdefault("client_config", Config(
                signature_version="s3v4",
                s3={"addressing_style": options.get("addressing_style") or "path"},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                connect_timeout=5, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"},
            ))
            options.setdefault("default_acl", None)  # private objects; reads go through Linli's scoped API
            options.setdefault("file_overwrite", True)  # references are unique: no HEAD before each PUT
            super().__init__(**options)

        @property
        def client(self) -> Any:
            return self.connection.meta.client

        @contextlib.contextmanager
        def _unavailable(self) -> Iterator[None]:
            try:
                yield
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code in ("NoSuchKey", "404", "NotFound"):
                    raise MediaMissing(code) from exc
                raise MediaUnavailable(f"object store refused: {code}") from exc
            except BotoCoreError as exc:
                raise MediaUnavailable(f"object store unreachable: {type(exc).__name__}") from exc

        def write(self, name: str, data: bytes) -> None:
            with self._unavailable():
                self.client.put_object(Bucket=self.bucket_name, Key=self._normalize_name(name), Body=data,
                                       ContentType=content_type(name))

        def reader(self, name: str) -> tuple[IO[bytes], int]:
            with self._unavailable():
                answer = self.client.get_object(Bucket=self.bucket_name, Key=self._normalize_name(name))
            return answer["Body"], answer["ContentLength"]

        def delete_many(self, names: Iterable[str]) -> int:
            keys = [self._normalize_name(n) for n in names]
            for start in range(0, len(keys), S3_DELETE_MAX):
                chunk = keys[start:start + S3_DELETE_MAX]
                with self._unavailable():
                    answer = self.client.delete_objects(
                        Bucket=self.bucket_name, Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True})
                if answer.get("Errors"):
                    raise MediaUnavailable(f"object store kept {len(answer['Errors'])} objects")
            return len(keys)  # S3 does not say which keys existed

        def walk(self, prefix: str) -> Iterator[StoredMedia]:
            base = self._normalize_name(prefix).rstrip("/") + "/"
            location = self.location.rstrip("/") + "/" if self.location else ""
            with self._unavailable():
                pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket_name, Prefix=base)
                for page in pages:
                    for item in page.get("Contents", ()):
                        yield StoredMedia(item["Key"].removeprefix(location), item["LastModified"], item["Size"])

        def folders(self, prefix: str) -> list[str]:
            with self._unavailable():
                dirs, _files = self.listdir(prefix)
            return sorted(dirs)

    ObjectStorage.__module__ = __name__
    return ObjectStorage


def __getattr__(name: str) -> Any:
    # `STORAGES` names "linli.events.media.ObjectStorage"; the class is built on first use.
    if name == "ObjectStorage":
        cls = _object_storage_class()
        globals()["ObjectStorage"] = cls
        return cls
    raise AttributeError(name)


def media_storage() -> Any:
    storage = storages["default"]
    if not hasattr(storage, "write"):
        raise TypeError("STORAGES['default'] must be linli.events.media.DiskStorage or ObjectStorage")
    return storage


# The interface the rest of Linli uses.

def save(ref: str, data: bytes) -> None:
    """Store `data` under `ref` completely or not at all (MediaUnavailable/OSError when the store is away)."""
    media_storage().write(check_ref(ref), data)


def stream(ref: str) -> tuple[IO[bytes], int]:
    """A binary stream of the file and its size; MediaMissing when there is none. The caller closes it."""
    return media_storage().reader(check_ref(ref))


def read(ref: str) -> bytes:
    body, _size = stream(ref)
    try:
        return body.read()
    finally:
        body.close()


def delete(refs: Iterable[str]) -> int:
    """Remove these files (missing ones are no error); how many were removed (S3: how many asked)."""
    names = list(refs)
    return media_storage().delete_many(names) if names else 0


def listing(prefix: str) -> Iterator[StoredMedia]:
    """Every file under `prefix` with its last-modified time, temporary files of interrupted writes included."""
    return media_storage().walk(prefix)


def folders(prefix: str) -> list[str]:
    """The names of the folders directly under `prefix` (e.g. the years under "events")."""
    return media_storage().folders(prefix)
