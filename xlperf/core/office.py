"""LibreOffice headless, driven safely: a private throw-away profile, its own process group, a time limit.

Used to turn the report into PDF, and an old Word document (.doc) into .docx for ``xlperf import``. The profile carries a small Basic macro that updates the table of
contents before exporting (a plain ``--convert-to pdf`` leaves the placeholder), and font pairs that
print the document's Chinese fonts with the closest installed Noto CJK face where they are missing.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from .errors import OfficeError  # noqa: F401 (raised here)
from .fileio import atomic_write_bytes

# A Basic macro in a private profile: load the .docx, update its table of contents (LibreOffice does not on a
# plain --convert-to, and the PDF would show the placeholder), export PDF. On any error it just stops, and the
# caller falls back to --convert-to.
_MACRO = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE script:module PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "module.dtd">
<script:module xmlns:script="http://openoffice.org/2000/script" script:name="XlperfReport" \
script:language="StarBasic">
Sub ExportPdf(sIn As String, sOut As String)
  Dim oDoc As Object
  On Error GoTo Failed
  Dim aLoad(0) As New com.sun.star.beans.PropertyValue
  aLoad(0).Name = &quot;Hidden&quot;
  aLoad(0).Value = True
  oDoc = StarDesktop.loadComponentFromURL(sIn, &quot;_blank&quot;, 0, aLoad())
  oIndexes = oDoc.getDocumentIndexes()
  For i = 0 To oIndexes.getCount() - 1
    oIndexes.getByIndex(i).update()
  Next i
  Dim aStore(0) As New com.sun.star.beans.PropertyValue
  aStore(0).Name = &quot;FilterName&quot;
  aStore(0).Value = &quot;writer_pdf_Export&quot;
  oDoc.storeToURL(sOut, aStore())
  oDoc.close(True)
  Exit Sub
Failed:
  On Error Resume Next
  If Not IsNull(oDoc) Then oDoc.close(True)
End Sub
</script:module>
"""
_LIBRARY = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE library:library PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "library.dtd">
<library:library xmlns:library="http://openoffice.org/2000/library" library:name="Standard" \
library:readonly="false" library:passwordprotected="false">{elements}</library:library>
"""
_LIBRARIES = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE library:libraries PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "libraries.dtd">
<library:libraries xmlns:library="http://openoffice.org/2000/library" xmlns:xlink="http://www.w3.org/1999/xlink">
 <library:library library:name="Standard" library:link="false"/>
</library:libraries>
"""
# Marks the profile as set up, so the first start does not replace user/basic with the presets; and, where the
# Chinese fonts the document names are not installed (Linux servers), prints them with the closest Noto CJK face
# instead of whatever the fallback finds (serif for 仿宋/宋体/楷体, sans for 黑体). See _font_pairs.
_REGISTRY = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Setup/Office"><prop oor:name="ooSetupInstCompleted" oor:op="fuse">\
<value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Font/Substitution"><prop oor:name="Replacement" oor:op="fuse">\
<value>true</value></prop></item>
{pairs}
</oor:items>
"""
_FONT_PAIR = """<item oor:path="/org.openoffice.Office.Common/Font/Substitution/FontPairs">\
<node oor:name="_{number}" oor:op="replace">\
<prop oor:name="Always" oor:op="fuse"><value>true</value></prop>\
<prop oor:name="OnScreenOnly" oor:op="fuse"><value>false</value></prop>\
<prop oor:name="ReplaceFont" oor:op="fuse"><value>{font}</value></prop>\
<prop oor:name="SubstituteFont" oor:op="fuse"><value>{substitute}</value></prop></node></item>"""


def soffice_path() -> str | None:
    return shutil.which("soffice")


def _font_pairs(wanted: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    """The replacements that apply here: the font is missing and the substitute is installed (per fontconfig).

    LibreOffice's "replace only when missing" mode never fires, because fontconfig always offers some
    fallback; so the check is made here and the pairs are written as "always". No fontconfig, no pairs.
    """
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return []
    try:
        listing = subprocess.run([fc_list, ":", "family"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    families = {name.strip() for line in listing.splitlines() for name in line.split(",")}
    return [(font, substitute) for font, substitute in wanted if font not in families and substitute in families]


def _make_profile(root: Path, font_pairs: tuple[tuple[str, str], ...]) -> Path:
    profile = root / "profile"
    basic = profile / "user" / "basic"
    (basic / "Standard").mkdir(parents=True)
    pairs = "\n".join(_FONT_PAIR.format(number=number, font=font, substitute=substitute)
                      for number, (font, substitute) in enumerate(_font_pairs(font_pairs)))
    (profile / "user" / "registrymodifications.xcu").write_text(_REGISTRY.format(pairs=pairs), encoding="utf-8")
    (basic / "script.xlc").write_text(_LIBRARIES, encoding="utf-8")
    (basic / "dialog.xlc").write_text(_LIBRARIES, encoding="utf-8")
    (basic / "Standard" / "script.xlb").write_text(
        _LIBRARY.format(elements='<library:element library:name="XlperfReport"/>'), encoding="utf-8")
    (basic / "Standard" / "dialog.xlb").write_text(_LIBRARY.format(elements=""), encoding="utf-8")
    (basic / "Standard" / "XlperfReport.xba").write_text(_MACRO, encoding="utf-8")
    return profile


def _run(command: list[str], timeout: float) -> subprocess.CompletedProcess:
    """Run soffice in its own process group and end that group (only it) when done or out of time."""
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _end_group(process.pid)
        process.communicate()
        raise OfficeError("timeout", seconds=timeout) from None
    _end_group(process.pid)
    return subprocess.CompletedProcess(command, process.returncode, stdout.decode(errors="replace"),
                                       stderr.decode(errors="replace"))


def _end_group(group: int) -> None:
    try:
        os.killpg(group, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


@contextlib.contextmanager
def _session(source: str | Path, name: str, font_pairs: tuple[tuple[str, str], ...] = ()):
    """A throw-away folder holding a copy of ``source`` as ``name`` (the input is never touched), and the
    soffice command line with a private profile there: yields (folder, copy, command)."""
    soffice = soffice_path()
    if soffice is None:
        raise OfficeError("missing")
    work = Path(tempfile.mkdtemp(prefix="xlperf-office-"))
    try:
        copy = work / name
        shutil.copyfile(source, copy)
        profile = _make_profile(work, font_pairs)
        yield work, copy, [soffice, "--headless", "--norestore", "--nologo", "--nolockcheck", "--nodefault",
                           f"-env:UserInstallation={profile.as_uri()}"]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _made(target: Path, result: subprocess.CompletedProcess) -> Path:
    if not target.exists() or target.stat().st_size == 0:
        raise OfficeError("failed", code=result.returncode, detail=(result.stderr or result.stdout).strip()[-500:])
    return target


def convert_to_pdf(docx: str | Path, pdf: str | Path, *, timeout: float = 180,
                   font_pairs: tuple[tuple[str, str], ...] = ()) -> bool:
    """Convert ``docx`` to ``pdf`` (written atomically) with a headless LibreOffice and a private profile.

    Returns True when the table of contents was updated in the PDF, False when only the plain conversion
    worked (the PDF then shows the placeholder). Raises ``OfficeError`` (missing, timeout, failed).
    """
    with _session(docx, "report.docx", font_pairs) as (work, source, command):
        target = work / "report.pdf"
        _run(command + [f'macro:///Standard.XlperfReport.ExportPdf("{source.as_uri()}","{target.as_uri()}")'],
             timeout)
        toc_updated = target.exists() and target.stat().st_size > 0
        if not toc_updated:
            _made(target, _run(command + ["--convert-to", "pdf", "--outdir", str(work), str(source)], timeout))
        atomic_write_bytes(pdf, target.read_bytes())
        return toc_updated


def convert_doc_to_docx(doc: str | Path, *, timeout: float = 120) -> bytes:
    """An old Word document (.doc) as .docx bytes, converted by a headless LibreOffice from a copy (the input
    is never touched). Raises ``OfficeError`` (missing, timeout, failed)."""
    with _session(doc, "document.doc") as (work, source, command):
        result = _run(command + ["--convert-to", "docx:MS Word 2007 XML", "--outdir", str(work / "out"),
                                 str(source)], timeout)
        return _made(work / "out" / "document.docx", result).read_bytes()
