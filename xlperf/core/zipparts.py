"""The records of a zip file that xlperf writes itself, byte for byte: a member's local header, its entry in the
central directory, and the end of that directory (zip 2.0, no zip64, no extra fields). Two writers use them: the
summary's splicing (``sheetxml.splice_package``) and the package a return's parser is given as the preflight
read it (``safety.stored_package``)."""
from __future__ import annotations

import struct

DOS_DATE, DOS_TIME = (0 << 9) | (1 << 5) | 1, 0  # 1980-01-01 00:00, as XlsxWriter stamps: same input, same bytes
ZIP32_LIMIT = 0xFFFFFFFF
_VERSION = 20  # made by and needed to extract: zip 2.0 (deflate)
_UTF8_NAME = 1 << 11  # the name is UTF-8 (else a reader takes it as code page 437): set only for a name not ASCII
_LOCAL = struct.Struct("<4s5H3L2H")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_END = struct.Struct("<4s4H2LH")


def _name_and_flags(name: str) -> tuple[bytes, int]:
    encoded = name.encode("utf-8")
    return encoded, 0 if encoded.isascii() else _UTF8_NAME


def local_header(name: str, method: int, crc: int, packed: int, size: int) -> bytes:
    encoded, flags = _name_and_flags(name)
    return _LOCAL.pack(b"PK\x03\x04", _VERSION, flags, method, DOS_TIME, DOS_DATE, crc, packed, size,
                       len(encoded), 0) + encoded


def central_header(name: str, method: int, crc: int, packed: int, size: int, offset: int) -> bytes:
    encoded, flags = _name_and_flags(name)
    return _CENTRAL.pack(b"PK\x01\x02", _VERSION, _VERSION, flags, method, DOS_TIME, DOS_DATE, crc, packed, size,
                         len(encoded), 0, 0, 0, 0, 0, offset) + encoded


def end_of_directory(members: int, directory_size: int, directory_at: int) -> bytes:
    return _END.pack(b"PK\x05\x06", 0, 0, members, members, directory_size, directory_at, 0)
