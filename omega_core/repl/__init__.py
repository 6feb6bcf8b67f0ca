"""REPL support that is not the command processor itself: the stepping debugger (``debugger``) and
the inspection commands (``inspect``), each returning the text a front end prints."""
