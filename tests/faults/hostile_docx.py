"""Hostile DOCX files for the loader-limit tests, generated small on disk (never stored in the repo)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import docx

__all__ = ["write_docx_bomb"]

_BODY_OPEN = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
)
_BODY_CLOSE = b"<w:sectPr/></w:body></w:document>"


def write_docx_bomb(path: Path, paragraphs: int, text: str = "Padding paragraph of a hostile policy.") -> int:
    """Write a valid DOCX whose body is ``paragraphs`` copies of one paragraph; returns its unzipped size.

    The body is written through a streaming deflate, so a body of hundreds of MB never sits in
    memory and the file on disk stays small (repetition compresses about 1000:1).
    """
    seed = io.BytesIO()
    docx.Document().save(seed)
    para = f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>".encode()
    block = para * 1000
    expanded = 0
    with zipfile.ZipFile(seed) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for member in src.infolist():
            if member.filename != "word/document.xml":
                out.writestr(member, src.read(member.filename))
                expanded += member.file_size
                continue
            with out.open("word/document.xml", "w", force_zip64=True) as body:
                body.write(_BODY_OPEN)
                left = paragraphs
                while left > 0:
                    n = min(left, 1000)
                    body.write(block if n == 1000 else para * n)
                    left -= n
                body.write(_BODY_CLOSE)
            expanded += len(_BODY_OPEN) + len(_BODY_CLOSE) + len(para) * paragraphs
    return expanded
