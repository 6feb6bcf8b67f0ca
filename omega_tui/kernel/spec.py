"""``omega kernel install|uninstall``: the Omega kernelspec (name ``omega``, display name "Omega Lisp").

The spec runs this Python (``sys.executable -m omega_tui.kernel -f {connection_file}``), so a
notebook server from any environment starts the kernel with the interpreter Omega is installed in.
Where it goes follows ``jupyter kernelspec install``: ``--user`` (the default here: it needs no
privileges) in the user's Jupyter data dir, ``--sys-prefix`` in this environment, ``--prefix DIR`` in
``DIR/share/jupyter/kernels``. ``interrupt_mode`` is "message": Jupyter's interrupt button reaches
the kernel as a request, which it forwards to the server's ``interrupt`` op.

Exit status: 0 done, 1 failed (the message says why), 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Sequence, TextIO

from omega_tui.kernel.logo import LOGO_DIR, LOGO_SIZES
from omega_tui.usage import UsageError

__all__ = ["KERNEL_NAME", "DISPLAY_NAME", "kernel_json", "install", "uninstall", "run_kernel_command"]

KERNEL_NAME = "omega"
DISPLAY_NAME = "Omega Lisp"
EXIT_OK = 0
EXIT_FAILED = 1
MISSING_EXTRA = ("the Jupyter kernel needs the jupyter extra ({what} is not installed): "
                 "pip install 'omega-lisp[jupyter]' (or pip install -e '.[jupyter]' in a checkout)")


class KernelCommandFailed(Exception):
    """Installing or removing the kernelspec failed; the message says why and what to do."""


def kernel_json(python: str | None = None, config_path: str | None = None) -> dict[str, Any]:
    """The kernelspec: how Jupyter starts the kernel and what it calls it."""
    spec: dict[str, Any] = {
        "argv": [python or sys.executable, "-m", "omega_tui.kernel", "-f", "{connection_file}"],
        "display_name": DISPLAY_NAME,
        "language": "omega",
        "interrupt_mode": "message",
        "metadata": {"debugger": False},
    }
    if config_path is not None:
        spec["env"] = {"OMEGA_CONFIG": str(Path(config_path).resolve())}
    return spec


def _kernelspec_manager() -> Any:
    try:
        from jupyter_client.kernelspec import KernelSpecManager
    except ImportError:
        raise KernelCommandFailed(MISSING_EXTRA.format(what="jupyter_client")) from None
    return KernelSpecManager()


def _require_ipykernel() -> None:
    import importlib.util

    if importlib.util.find_spec("ipykernel") is None:
        raise KernelCommandFailed(MISSING_EXTRA.format(what="ipykernel"))


def _location_dir(user: bool, sys_prefix: bool, prefix: str | None) -> Path:
    """The kernels dir a location flag names (as ``jupyter kernelspec install`` uses it)."""
    if prefix is not None or sys_prefix:
        return Path(prefix if prefix is not None else sys.prefix) / "share" / "jupyter" / "kernels"
    from jupyter_core.paths import jupyter_data_dir

    return Path(jupyter_data_dir()) / "kernels"


def install(user: bool = True, sys_prefix: bool = False, prefix: str | None = None,
            config_path: str | None = None) -> Path:
    """Write the kernelspec (kernel.json and the logos); returns the directory it went to."""
    manager = _kernelspec_manager()
    _require_ipykernel()
    if sys_prefix:
        prefix = sys.prefix
    with tempfile.TemporaryDirectory(prefix="omega-kernelspec-") as scratch:
        source = Path(scratch) / KERNEL_NAME
        source.mkdir()
        (source / "kernel.json").write_text(json.dumps(kernel_json(config_path=config_path), indent=2) + "\n",
                                            encoding="utf-8")
        for size in LOGO_SIZES:
            logo = LOGO_DIR / f"logo-{size}x{size}.png"
            if logo.exists():
                shutil.copyfile(logo, source / logo.name)
        try:
            where = manager.install_kernel_spec(str(source), KERNEL_NAME, user=prefix is None and user, prefix=prefix)
        except PermissionError as problem:
            raise KernelCommandFailed(f"cannot write {problem.filename or 'the kernels dir'}: permission denied; "
                                      "use --user, --sys-prefix or --prefix DIR") from None
        except OSError as problem:
            raise KernelCommandFailed(f"cannot install the kernelspec: {problem.strerror or problem} "
                                      f"({problem.filename or 'kernels dir'})") from None
    return Path(where)


def _is_ours(directory: Path) -> bool:
    try:
        spec = json.loads((directory / "kernel.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(spec, dict) and spec.get("language") == "omega"


def uninstall(location: tuple[bool, bool, str | None] | None = None) -> Path:
    """Remove the kernelspec: from the given location (user, sys_prefix, prefix), else where Jupyter finds it."""
    if location is not None:
        directory = _location_dir(*location) / KERNEL_NAME
    else:
        found = _kernelspec_manager().find_kernel_specs().get(KERNEL_NAME)
        if found is None:
            raise KernelCommandFailed(f"no kernel named '{KERNEL_NAME}' is installed (jupyter kernelspec list shows them)")
        directory = Path(found)
    if not directory.is_dir():
        raise KernelCommandFailed(f"no kernel named '{KERNEL_NAME}' in {directory.parent}")
    if not _is_ours(directory):
        raise KernelCommandFailed(f"{directory} is not an Omega kernelspec (its kernel.json does not say "
                                  "language omega); remove it with jupyter kernelspec remove")
    try:
        shutil.rmtree(directory)
    except OSError as problem:
        raise KernelCommandFailed(f"cannot remove {directory}: {problem.strerror or problem}") from None
    return directory


KERNEL_USAGE = "omega kernel install|uninstall [--user | --sys-prefix | --prefix DIR] [--config FILE]"
KERNEL_EXAMPLE = "omega kernel install --user"


def usage_error(message: str) -> UsageError:
    """A ``UsageError`` with this subcommand's usage line and example where ``UsageError`` takes them."""
    import inspect

    if "example" in inspect.signature(UsageError.__init__).parameters:
        return UsageError(message, KERNEL_EXAMPLE, KERNEL_USAGE)  # type: ignore[call-arg]
    return UsageError(f"{message} (usage: {KERNEL_USAGE})")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise usage_error(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="omega kernel", description="Install or remove the Omega Lisp kernel for Jupyter "
                     "(notebooks, jupyter console, nbclient). Each notebook runs in a recorded session on the "
                     "Omega server, named after the notebook.")
    parser.add_argument("action", choices=("install", "uninstall"))
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="for this user only (the default)")
    where.add_argument("--sys-prefix", action="store_true", help=f"in this Python environment ({sys.prefix})")
    where.add_argument("--prefix", metavar="DIR", help="in DIR/share/jupyter/kernels")
    parser.add_argument("--config", metavar="PATH", help="install: the kernel uses this configuration file")
    return parser


def run_kernel_command(argv: Sequence[str], out: TextIO | None = None, err: TextIO | None = None) -> int:
    """``omega kernel ...`` (argv after ``kernel``). Raises ``UsageError`` for bad usage."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    args = build_parser().parse_args(list(argv))
    try:
        if args.action == "install":
            if args.config is not None and not Path(args.config).is_file():
                raise usage_error(f"--config {args.config}: no such file")
            where = install(user=not (args.sys_prefix or args.prefix), sys_prefix=args.sys_prefix, prefix=args.prefix,
                            config_path=args.config)
            print(f"Installed the {DISPLAY_NAME} kernel ({KERNEL_NAME}) in {where}", file=out)
            print("Start a notebook with: jupyter lab (kernel \"Omega Lisp\"), or jupyter console --kernel omega",
                  file=out)
        else:
            if args.config is not None:
                raise usage_error("--config only goes with omega kernel install")
            chosen = args.user or args.sys_prefix or args.prefix is not None
            where = uninstall((args.user, args.sys_prefix, args.prefix) if chosen else None)
            print(f"Removed the {DISPLAY_NAME} kernel ({KERNEL_NAME}) from {where}", file=out)
    except KernelCommandFailed as problem:
        print(f"omega kernel: {problem}", file=err)
        return EXIT_FAILED
    return EXIT_OK
