"""A .zip of source files, read in place: each member through the loader it would get unzipped."""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from ingest.loaders.base import LoadContext, Loader, LoadResult
from ingest.reading import check_size
from knowledge.errors import InputError

MAX_EXPANSION = 200
"""A member that unpacks to more than this many times its packed size is refused (a zip bomb);
real text packs 5 to 20 times."""
COPY_BLOCK = 1 << 20


def _readable_member(member: zipfile.ZipInfo) -> bool:
    parts = PurePosixPath(member.filename).parts
    hidden = any(part.startswith(".") or part == "__MACOSX" for part in parts)
    return not member.is_dir() and not hidden


class ZipArchiveLoader:
    """Reads every file inside a .zip with the loader its name and first line pick.

    GLOVEBOX_INGEST_MAX_FILE_MB limits the archive as it lies on disk; a member is limited only
    by how far it unpacks (MAX_EXPANSION times its packed size), because a packed export of
    many records (NHTSA's recall-document index: 4 MB packed, 67 MB of CSV) is many small
    documents, not one large one. Members show in the report as `archive.zip!member.csv`.

        result = ZipArchiveLoader(loader_for).load(Path("RCL_FROM_2020_2024.zip"), context)
    """

    def __init__(self, loader_for: Callable[[Path], Loader | None]) -> None:
        self._loader_for = loader_for

    def load(self, path: Path, context: LoadContext) -> LoadResult:
        check_size(path, context.max_file_mb)
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as error:
            raise InputError(
                context.source, f"not a readable zip archive ({error}); re-create or re-download it"
            ) from error
        with archive, tempfile.TemporaryDirectory(prefix="glovebox-zip-") as folder:
            members = [member for member in archive.infolist() if _readable_member(member)]
            if not members:
                raise InputError(context.source, "the zip archive holds no files; remove it")
            result = LoadResult()
            for number, member in enumerate(members):
                shown = f"{context.source}!{member.filename}"
                try:
                    extracted = self._extract(archive, member, Path(folder) / str(number), shown)
                    self._load_member(extracted, member, shown, context, result)
                except InputError as error:
                    result.skipped_parts.append(error)
                finally:
                    for leftover in (Path(folder) / str(number)).glob("*"):
                        leftover.unlink()
        return result

    @staticmethod
    def _extract(archive: zipfile.ZipFile, member: zipfile.ZipInfo, into: Path, shown: str) -> Path:
        if member.flag_bits & 0x1:
            raise InputError(shown, "the member is encrypted; add it to the archive unencrypted")
        limit = max(member.compress_size, 1) * MAX_EXPANSION
        if member.file_size > limit:
            raise InputError(
                shown,
                f"the member unpacks to {member.file_size / member.compress_size:.0f} times its "
                f"packed size (over {MAX_EXPANSION}); unzip it and check what it is",
            )
        into.mkdir()
        target = into / PurePosixPath(member.filename).name
        written = 0
        try:
            with archive.open(member) as packed, target.open("wb") as unpacked:
                while block := packed.read(COPY_BLOCK):
                    written += len(block)
                    if written > limit:  # the header lied about the size
                        raise InputError(
                            shown, "the member unpacks past its stated size; re-create the archive"
                        )
                    unpacked.write(block)
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as error:
            raise InputError(
                shown, f"the member cannot be unpacked ({error}); re-create the archive"
            ) from error
        return target

    def _load_member(
        self,
        extracted: Path,
        member: zipfile.ZipInfo,
        shown: str,
        context: LoadContext,
        result: LoadResult,
    ) -> None:
        loader = self._loader_for(extracted)
        if loader is None or isinstance(loader, ZipArchiveLoader):
            what = (
                "a zip inside a zip"
                if loader is not None
                else f"file type {extracted.suffix or '(none)'}"
            )
            raise InputError(shown, f"{what} is not read inside an archive; unzip it or remove it")
        # The archive's size was checked; its member is bounded by MAX_EXPANSION instead.
        member_mb = max(context.max_file_mb, member.file_size / 1024 / 1024 + 1)
        member_context = LoadContext(shown, context.manifest_fields, member_mb)
        try:
            loaded = loader.load(extracted, member_context)
        except InputError as error:
            raise InputError(shown, error.problem, line=error.line) from error
        except Exception as error:  # one broken member must not stop the archive
            raise InputError(
                shown,
                f"could not be read ({type(error).__name__}: {error}); check the file, and report "
                "it as a Glovebox bug if it looks valid",
            ) from error
        result.documents.extend(loaded.documents)
        result.skipped_parts.extend(loaded.skipped_parts)
