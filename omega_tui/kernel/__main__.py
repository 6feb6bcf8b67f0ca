"""``python -m omega_tui.kernel -f CONNECTION_FILE``: what the kernelspec's argv runs."""

from __future__ import annotations

import gc


def main() -> None:
    # The imports (ipykernel, IPython, ZeroMQ, traitlets, then ours) make only long-lived objects:
    # with the cyclic collector paused while they load, a kernel starts with about a tenth less CPU
    # (bench/kernel.py, "kernel start to first reply"). It runs again before the kernel does.
    gc.disable()
    try:
        from ipykernel.kernelapp import IPKernelApp

        from omega_tui.kernel.kernel import OmegaKernel
    finally:
        gc.enable()
    IPKernelApp.launch_instance(kernel_class=OmegaKernel)


if __name__ == "__main__":
    main()
