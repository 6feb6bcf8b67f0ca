"""``python -m omega_tui.kernel -f CONNECTION_FILE``: what the kernelspec's argv runs."""

from __future__ import annotations


def main() -> None:
    from ipykernel.kernelapp import IPKernelApp

    from omega_tui.kernel.kernel import OmegaKernel

    IPKernelApp.launch_instance(kernel_class=OmegaKernel)


if __name__ == "__main__":
    main()
