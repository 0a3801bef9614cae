"""Type into a spreadsheet through a headless LibreOffice, the way a person would (run by a python3 with ``uno``).

This script is run by ``tests/lo.py`` under the system interpreter that has LibreOffice's ``uno`` module
(Debian's ``python3-uno``), never by the project's venv. It reads one JSON request from the file named as its
only argument and writes one JSON result to ``request["result_path"]``::

    {"path": ".../in.xlsx",             # the document to open (a private copy is opened, never the file itself)
     "save_as": ".../out.xlsx",         # stored after typing; the filter follows the extension (xlsx, ods, xls, csv)
     "profile": "/tmp/...",             # a private LibreOffice user profile directory
     "entries": [["sheet", "B7", "30%"], ...],
     "watch": [["sheet", "B9"], ...],   # cells read before, after each entry, after all entries, after a hard recalc
     "timeout": 110,                    # seconds; a watchdog kills soffice and exits after this
     "type_locked": false,              # true: type into locked cells too (at most ONE per session, see below)
     "result_path": ".../result.json"}

How an entry is typed: the sheet is activated, ``.uno:GoToCell`` (ToPoint) moves the cursor and
``.uno:EnterString`` (StringName) enters the text. That is the code path of the cell cursor: it honours sheet
protection (a locked cell on a protected sheet keeps its content) and interprets the text with the cell's number
format like typed input (``30%`` becomes 0.3, ``0015`` stays text in a ``@`` cell). Writing through the API
(``setString``/``setFormula``) would bypass both, so it is never used for typing.

What ``.uno:EnterString`` does NOT do is check validity: LibreOffice checks a cell's validation only in the
input handler (the keyboard path), so EnterString stores ``150%`` into a cell that only allows 0..1. This script
therefore asks LibreOffice itself whether the new content is valid - ``XSheetAuditing.showInvalid()`` runs
Calc's own validity check (the one behind Tools > Detective > Mark Invalid Data) and draws an ellipse round every
invalid cell - and, for a "Stop" validation, undoes the input, which is what Calc does when a person types an
invalid value and the error box is dismissed. The detective marks are removed (and undone) again.

Protection: a cell that is locked on a protected sheet (``sheet.isProtected()`` and the cell's
``CellProtection.IsLocked``, exactly what Calc's own check ``IsBlockEditable`` looks at) is reported as refused
with reason "protected" and is NOT typed into. EnterString on such a cell does leave it unchanged, but it raises
the "Protected cells can not be modified" message box: soffice --headless cancels the first one silently, and
LibreOffice 7.4 crashes (URP bridge disposed) on the second one in the same session. With ``type_locked`` the
locked cell is typed into anyway, to see LibreOffice itself refuse it: use that for one locked entry per session.

Dialogs: soffice runs with ``--headless``, where LibreOffice cancels message boxes instead of showing them, and the
validation check above never opens one. Nothing here waits for a person; a watchdog thread still kills soffice and
exits if the deadline passes.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid

import uno  # noqa: F401  (provided by python3-uno; must be importable before the com.sun.star imports)
from com.sun.star.beans import PropertyValue

FILTERS = {
    ".xlsx": "Calc MS Excel 2007 XML",
    ".ods": "calc8",
    ".xls": "MS Excel 97",
    ".csv": "Text - txt - csv (StarCalc)",
    ".pdf": "calc_pdf_Export",
}
CELL_TYPES = {"EMPTY": "empty", "VALUE": "value", "TEXT": "text", "FORMULA": "formula"}


def prop(name: str, value: object) -> PropertyValue:
    item = PropertyValue()
    item.Name = name
    item.Value = value
    return item


def descendants(pid: int) -> list[int]:
    """Process ids below ``pid`` (oosplash starts soffice.bin as its child), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as handle:
                stat = handle.read()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def kill_office(process: subprocess.Popen) -> None:
    """Kill the soffice this script started and everything it started, by process id."""
    for pid in [process.pid, *descendants(process.pid)]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


class Office:
    """A private headless soffice listening on a pipe, and the UNO objects to drive it."""

    def __init__(self, profile: str, deadline: float):
        self.pipe = f"xlperf_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self.process = subprocess.Popen(
            ["soffice", "--headless", "--invisible", "--norestore", "--nologo", "--nodefault",
             "--nolockcheck", f"-env:UserInstallation={uno.systemPathToFileUrl(profile)}",
             f"--accept=pipe,name={self.pipe};urp;StarOffice.ComponentContext"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        last_error = None
        while time.monotonic() < deadline:
            try:
                self.context = resolver.resolve(f"uno:pipe,name={self.pipe};urp;StarOffice.ComponentContext")
                break
            except Exception as error:  # NoConnectException until soffice listens (a first start can restart)
                last_error = error
                if self.process.poll() is not None and not descendants(self.process.pid):
                    raise RuntimeError(f"soffice exited with {self.process.returncode} before accepting") from error
                time.sleep(0.2)
        else:
            raise TimeoutError(f"soffice did not accept a connection in time: {last_error}")
        manager = self.context.ServiceManager
        self.desktop = manager.createInstanceWithContext("com.sun.star.frame.Desktop", self.context)
        self.dispatcher = manager.createInstanceWithContext("com.sun.star.frame.DispatchHelper", self.context)

    def close(self) -> None:
        try:
            self.desktop.terminate()
        except Exception:  # the bridge goes away while terminating
            pass
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
        kill_office(self.process)  # soffice.bin may outlive oosplash; kill whatever is left


def cell_state(document, sheet, address: str) -> dict:
    cell = sheet.getCellRangeByName(address)
    kind = CELL_TYPES.get(cell.getType().value, cell.getType().value)
    state = {"type": kind, "string": cell.getString(), "formula": cell.getFormula(), "value": cell.getValue()}
    if kind == "formula":
        state["error"] = cell.getError()
        state["result_type"] = "value" if cell.FormulaResultType2 == 1 else "text" if cell.FormulaResultType2 == 2 \
            else str(cell.FormulaResultType2)
    try:
        state["number_format"] = document.NumberFormats.getByKey(cell.NumberFormat).FormatString
    except Exception:
        state["number_format"] = None
    return state


def same_content(a: dict, b: dict) -> bool:
    return all(a[key] == b[key] for key in ("type", "string", "formula", "value"))


def read_cells(document, cells: list) -> dict:
    return {f"{name}!{address}": cell_state(document, document.Sheets.getByName(name), address)
            for name, address in cells}


def marked_invalid(sheet, address: str) -> bool:
    """Calc's own validity check for one cell: Mark Invalid Data draws an ellipse round each invalid cell."""
    cell = sheet.getCellRangeByName(address)
    position, size = cell.Position, cell.Size
    centre_x, centre_y = position.X + size.Width // 2, position.Y + size.Height // 2
    sheet.showInvalid()
    page = sheet.getDrawPage()
    marked = False
    for index in range(page.getCount()):
        shape = page.getByIndex(index)
        if shape.getShapeType() != "com.sun.star.drawing.EllipseShape":
            continue
        where, extent = shape.getPosition(), shape.getSize()
        if where.X <= centre_x <= where.X + extent.Width and where.Y <= centre_y <= where.Y + extent.Height:
            marked = True
    sheet.clearArrows()
    return marked


def validation_of(sheet, address: str) -> dict:
    validation = sheet.getCellRangeByName(address).Validation
    return {"type": validation.Type.value, "alert": validation.ErrorAlertStyle.value,
            "show_error": bool(validation.ShowErrorMessage), "formula1": validation.getFormula1(),
            "formula2": validation.getFormula2(), "operator": validation.getOperator().value}


def type_entry(office: Office, document, controller, entry: list, type_locked: bool = False) -> dict:
    name, address, text = entry
    sheet = document.Sheets.getByName(name)
    controller.setActiveSheet(sheet)
    if controller.getActiveSheet().getName() != name:
        raise RuntimeError(f"could not activate sheet {name!r}")
    cell = sheet.getCellRangeByName(address)
    locked = bool(sheet.isProtected() and cell.CellProtection.IsLocked)
    before = cell_state(document, sheet, address)
    undo = document.getUndoManager()
    undo_depth = len(undo.getAllUndoActionTitles())
    frame = controller.getFrame()
    office.dispatcher.executeDispatch(frame, ".uno:GoToCell", "", 0, (prop("ToPoint", address),))
    selected = controller.getSelection().getRangeAddress()
    wanted = cell.getRangeAddress()
    if (selected.Sheet, selected.StartColumn, selected.StartRow) != (wanted.Sheet, wanted.StartColumn, wanted.StartRow):
        raise RuntimeError(f"GoToCell did not reach {name}!{address}")
    validation = validation_of(sheet, address)
    result = {"sheet": name, "cell": address, "text": text, "locked": locked, "before": before,
              "validation": validation, "valid": None, "reason": None, "typed": type_locked or not locked}
    if locked and not type_locked:
        # Not typed: LibreOffice would refuse it with "Protected cells can not be modified", and in headless mode
        # the SECOND such message box in a session crashes soffice 7.4 (the first is cancelled harmlessly).
        result.update(accepted=False, reason="protected", after=cell_state(document, sheet, address))
        return result
    office.dispatcher.executeDispatch(frame, ".uno:EnterString", "", 0, (prop("StringName", text),))
    after = cell_state(document, sheet, address)
    changed = not same_content(before, after)
    if changed and validation["type"] != "ANY" and validation["show_error"]:
        result["valid"] = not marked_invalid(sheet, address)
        if not result["valid"] and validation["alert"] == "STOP":
            result["refused_content"] = after
            while len(undo.getAllUndoActionTitles()) > undo_depth:  # the input and the detective marks
                undo.undo()
            after = cell_state(document, sheet, address)
            if not same_content(before, after):
                raise RuntimeError(f"undoing the refused input did not restore {name}!{address}: {after}")
            changed = False
            result["reason"] = "validation"
    if result["reason"] == "validation":
        result["accepted"] = False
    elif changed:
        result["accepted"] = True
    else:  # nothing changed: accepted only if the cell already held what was typed
        result["accepted"] = after["string"] == text or after["formula"] == text
        if not result["accepted"]:
            result["reason"] = "protected" if locked else "unchanged"
    result["after"] = after
    return result


def run(request: dict) -> dict:
    deadline = time.monotonic() + float(request.get("timeout", 110))
    office = Office(request["profile"], deadline)
    watchdog = threading.Timer(max(1.0, deadline - time.monotonic()), _expire, args=(office, request))
    watchdog.daemon = True
    watchdog.start()
    try:
        work = tempfile.mkdtemp(prefix="in-", dir=request["profile"])  # a private copy: no lock file on the input
        source = request["path"]
        copy = os.path.join(work, os.path.basename(source))
        with open(source, "rb") as src, open(copy, "wb") as dst:
            dst.write(src.read())
        document = office.desktop.loadComponentFromURL(uno.systemPathToFileUrl(copy), "_blank", 0,
                                                       (prop("Hidden", True),))
        if document is None:
            raise RuntimeError(f"LibreOffice could not open {source}")
        try:
            controller = document.getCurrentController()
            watch = request.get("watch", [])
            result = {
                "ok": True,
                "document_protected": bool(document.isProtected()),
                "sheets": [{"name": name, "protected": bool(document.Sheets.getByName(name).isProtected()),
                            "visible": bool(document.Sheets.getByName(name).IsVisible)}
                           for name in document.Sheets.ElementNames],
                "named_ranges": list(document.NamedRanges.ElementNames),
                "watch_before": read_cells(document, watch),
                "entries": [],
            }
            for entry in request["entries"]:
                typed = type_entry(office, document, controller, entry, bool(request.get("type_locked")))
                typed["watch"] = read_cells(document, watch)
                result["entries"].append(typed)
            result["watch_after"] = read_cells(document, watch)
            result["cells_after"] = read_cells(document, [entry[:2] for entry in request["entries"]])
            document.calculateAll()  # a hard recalculation: LibreOffice's own answer for every formula
            result["watch_after_hard_recalc"] = read_cells(document, watch)
            save_as = request.get("save_as")
            if save_as:
                extension = os.path.splitext(save_as)[1].lower()
                document.storeToURL(uno.systemPathToFileUrl(os.path.abspath(save_as)),
                                    (prop("FilterName", FILTERS[extension]), prop("Overwrite", True)))
                result["saved"] = save_as
            return result
        finally:
            document.close(True)
    finally:
        watchdog.cancel()
        office.close()


def _expire(office: Office, request: dict) -> None:
    kill_office(office.process)
    _write(request, {"ok": False, "error": "timeout: LibreOffice did not finish in time (killed)"})
    os._exit(124)


def _write(request: dict, result: dict) -> None:
    with open(request["result_path"] + ".tmp", "w", encoding="utf-8") as handle:
        json.dump(result, handle, ensure_ascii=False, indent=1)
    os.replace(request["result_path"] + ".tmp", request["result_path"])


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as handle:
        request = json.load(handle)
    try:
        result = run(request)
    except Exception as error:
        result = {"ok": False, "error": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc()}
    _write(request, result)
    return 0 if result.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
