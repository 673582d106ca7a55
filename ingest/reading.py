"""Reading a source file safely: size, emptiness, binary content and encoding checked first."""

from __future__ import annotations

from pathlib import Path

from knowledge.errors import InputError

BINARY_SNIFF_BYTES = 8192


def check_size(path: Path, max_megabytes: float) -> int:
    size = path.stat().st_size
    if size == 0:
        raise InputError(str(path), "the file is empty; add content or remove the file")
    if size > max_megabytes * 1024 * 1024:
        raise InputError(
            str(path),
            f"the file is {size / 1024 / 1024:.1f} MB, over the {max_megabytes:g} MB limit; "
            "split it into smaller documents or raise GLOVEBOX_INGEST_MAX_FILE_MB",
        )
    return size


def read_bytes(path: Path, max_megabytes: float) -> bytes:
    check_size(path, max_megabytes)
    return path.read_bytes()


def read_text(path: Path, max_megabytes: float) -> str:
    """The file as text. Refuses binary content and anything that is not UTF-8, saying why."""
    raw = read_bytes(path, max_megabytes)
    if b"\x00" in raw[:BINARY_SNIFF_BYTES]:
        raise InputError(
            str(path),
            "the file holds binary data, not text; export it as text (Markdown, HTML, CSV) "
            "or remove it from the knowledge folder",
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise InputError(
            str(path),
            f"the text is not UTF-8 (byte 0x{raw[error.start]:02x} at offset {error.start})"
            f"{_encoding_guess(raw)}; re-save the file as UTF-8",
            line=line,
        ) from error
    if not text.strip():
        raise InputError(str(path), "the file has only whitespace; add content or remove it")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _encoding_guess(raw: bytes) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(raw[:65536]).best()
    return f", it looks like {best.encoding}" if best is not None else ""
