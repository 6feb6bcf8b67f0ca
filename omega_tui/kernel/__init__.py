"""Omega in Jupyter: a kernel (``python -m omega_tui.kernel -f CONNECTION_FILE``) that is a client of
the session server, and ``omega kernel install|uninstall`` for its kernelspec.

Needs the ``jupyter`` extra (``pip install 'omega-lisp[jupyter]'``): ipykernel and jupyter_client.
Nothing here imports Textual; the modules that do not need ipykernel (naming, syntax, cells, assist,
link, spec) import without it, so ``omega kernel install`` can say clearly what is missing.
"""
