"""The README's portal commands, run as written (in a folder holding the samples): the round, the office
account, the portal answering, the status."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

from web.served import free_port
from web.webcommon import ROOT


def portal_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Collection portal"):]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line and not line.startswith("#")]


def test_the_readmes_portal_commands_work_as_written(tmp_path):
    commands = portal_commands()
    assert commands[0] == "pip install '.[web]'"  # installed already: this test runs with the extra
    (tmp_path / "samples").symlink_to(ROOT / "samples")
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith("XLPERF_WEB_") and key != "DJANGO_SETTINGS_MODULE"}
    environment["PATH"] = f"{os.path.dirname(sys.executable)}{os.pathsep}{environment.get('PATH', '')}"
    environment["XLPERF_LANG"] = "zh"
    outputs = []
    for command in commands[1:]:
        if command.startswith("xlperf serve"):
            port = free_port()
            server = subprocess.Popen(["bash", "-c", f"exec {command} --port {port}"], cwd=tmp_path, env=environment,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            try:
                for _ in range(300):
                    try:
                        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/office/login/", timeout=2).read()
                        break
                    except OSError:
                        time.sleep(0.1)
                assert "财政部门登录".encode() in page
            finally:
                os.killpg(server.pid, signal.SIGTERM)
                assert server.wait(timeout=30) == 143
            continue
        result = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=environment, capture_output=True,
                                text=True, timeout=120)
        assert result.returncode == 0, (command, result.stderr)
        outputs.append(result.stdout)
    assert (tmp_path / "out" / "portal" / "links.csv").exists()
    assert outputs[1].strip() == "已创建财政部门账号：finance"
    assert "471001  遵化市工业和信息化局本级  未报送  0  -" in outputs[-1]
