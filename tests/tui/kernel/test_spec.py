"""``omega kernel install|uninstall``: the kernelspec's content and where it goes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from omega_tui.cli import main
from omega_tui.kernel.spec import DISPLAY_NAME, KERNEL_NAME

REPO = Path(__file__).resolve().parents[3]


def test_install_into_a_prefix_then_uninstall(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kernel", "install", "--prefix", str(tmp_path)]) == 0
    where = tmp_path / "share" / "jupyter" / "kernels" / KERNEL_NAME
    assert str(where) in capsys.readouterr().out
    spec = json.loads((where / "kernel.json").read_text(encoding="utf-8"))
    assert spec["argv"] == [sys.executable, "-m", "omega_tui.kernel", "-f", "{connection_file}"]
    assert spec["display_name"] == DISPLAY_NAME and spec["language"] == "omega"
    assert spec["interrupt_mode"] == "message"
    for size in (32, 64):
        assert (where / f"logo-{size}x{size}.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert main(["kernel", "uninstall", "--prefix", str(tmp_path)]) == 0
    assert not where.exists()
    assert main(["kernel", "uninstall", "--prefix", str(tmp_path)]) == 1
    assert "no kernel named 'omega'" in capsys.readouterr().err


def test_user_install_is_found_and_removed_by_jupyter_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    config = tmp_path / "omega.toml"
    config.write_text("", encoding="utf-8")
    assert main(["kernel", "install", "--config", str(config)]) == 0  # --user is the default
    where = tmp_path / "data" / "kernels" / KERNEL_NAME
    assert json.loads((where / "kernel.json").read_text())["env"] == {"OMEGA_CONFIG": str(config.resolve())}
    from jupyter_client.kernelspec import KernelSpecManager

    assert Path(KernelSpecManager().find_kernel_specs()[KERNEL_NAME]) == where
    assert main(["kernel", "uninstall"]) == 0  # found where Jupyter looks
    assert not where.exists()


def test_uninstall_leaves_a_foreign_kernel_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    foreign = tmp_path / "share" / "jupyter" / "kernels" / KERNEL_NAME
    foreign.mkdir(parents=True)
    (foreign / "kernel.json").write_text(json.dumps({"argv": ["x"], "language": "python"}), encoding="utf-8")
    assert main(["kernel", "uninstall", "--prefix", str(tmp_path)]) == 1
    assert "not an Omega kernelspec" in capsys.readouterr().err
    assert foreign.exists()


@pytest.mark.parametrize("argv", [["kernel"], ["kernel", "remove"], ["kernel", "install", "--user", "--sys-prefix"],
                                  ["kernel", "uninstall", "--config", "x.toml"],
                                  ["kernel", "install", "--config", "/no/such/file.toml"]])
def test_bad_usage_exits_2_with_a_message(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("omega: ") and "Traceback" not in err


def test_the_kernel_package_imports_no_textual() -> None:
    code = ("import sys, omega_tui.kernel.kernel, omega_tui.kernel.spec, omega_tui.kernel.__main__; "
            "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.')); "
            "assert not bad, bad")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH", "")])))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
