"""Compiles read data into nodes (``nodes.py``), resolving every local variable to a frame slot.

Compilation is a pure function of the datum: the same datum always yields the same nodes in the same
order. The serializer depends on that to name nodes by (unit id, index) and rebuild them on load.
Derived forms (``let*``, ``letrec``, named ``let``, ``cond``, ``when`` ...) are rewritten into the
core ones (``derived_forms.py``), so the machine has few node kinds to step.

No host recursion: every compound form is compiled by a generator that yields its sub-forms to one
driver loop with an explicit stack (``Compiler.compile``), so code nested as deep as the reader
accepts ([language] max_read_depth) compiles in constant Python stack.
"""

from __future__ import annotations

from types import GeneratorType
from typing import Any, Callable, Generator

from omega_core.errors import CompileError
from omega_core.lang import nodes as n
from omega_core.lang.derived_forms import DerivedForms
from omega_core.lang.printer import SHORT_LIMIT, short_string, write_string
from omega_core.lang.source import SourcePositions
from omega_core.lang.values import NIL, UNASSIGNED, UNSPECIFIED, Pair, Symbol, iter_list, sym

_DEFINE = sym("define")
_BEGIN = sym("begin")
_LAMBDA = sym("lambda")
_ON = sym("on")

_ENCLOSING_SEARCH = 8
"""How many enclosing forms to look through for one with a place (derived forms have none)."""

FormCompiler = Generator[tuple[Any, "Scope | None", "str | None"], "n.Node", "n.Node"]
"""A compound form's compiler: yields (sub-form, scope, name) requests, receives their nodes."""


class Scope:
    """The variables of one run-time frame, in slot order (slot 0 is the parent frame)."""

    __slots__ = ("names", "parent")

    def __init__(self, names: list[str], parent: "Scope | None") -> None:
        self.names = names
        self.parent = parent

    def lookup(self, name: str) -> tuple[int, int] | None:
        depth = 0
        scope: Scope | None = self
        while scope is not None:
            names = scope.names
            # the last binding of a name wins (a body define may shadow a parameter)
            for position in range(len(names) - 1, -1, -1):
                if names[position] == name:
                    return depth, position + 1
            scope = scope.parent
            depth += 1
        return None


class Compiler(DerivedForms):
    """Compiles one unit; the core forms are here, the derived ones in ``DerivedForms``."""

    def __init__(self, unit: n.Unit, positions: dict[int, tuple[int, int]] | None) -> None:
        self.unit = unit
        self.positions = positions or {}

    # --- helpers -------------------------------------------------------------------------------

    def error(self, form: Any, message: str) -> CompileError:
        where = self.positions.get(id(form))
        if where is not None:
            message = f"{message} at line {where[0]}, column {where[1]}"
        return CompileError(message)

    def written(self, form: Any) -> str:
        """A form as the user wrote it (as it prints, when it was not read from text)."""
        text = self.positions.written(form, SHORT_LIMIT) if type(self.positions) is SourcePositions else None
        return text if text is not None else short_string(form)

    def items(self, form: Any, usage: str) -> list[Any]:
        try:
            return list(iter_list(form))
        except Exception:
            raise self.error(form, f"bad syntax, expected {usage}") from None

    # --- entry points --------------------------------------------------------------------------

    def compile(self, x: Any, scope: Scope | None, name: str | None = None) -> n.Node:
        """Compile ``x`` with an explicit stack of form compilers, never recursing in Python.

        Each compound form is compiled by a generator that yields ``(sub-form, scope, name)`` for
        every sub-form it needs and receives the sub-form's node back, so code nested as deep as the
        reader allows compiles in constant host stack. Nodes are created in exactly the order a
        recursive compiler would create them (the serializer names nodes by that order).
        """
        started = self.start(x, scope, name)
        if type(started) is not GeneratorType:
            return started  # type: ignore[return-value]
        stack: list[FormCompiler] = [started]
        forms: list[Any] = [x]  # the form each generator on the stack compiles
        result: Any = None
        while stack:
            try:
                request = stack[-1].send(result)
            except StopIteration as done:
                stack.pop()
                forms.pop()
                result = done.value
                continue
            sub = self.start(*request)
            if type(sub) is GeneratorType:
                stack.append(sub)  # type: ignore[arg-type]
                forms.append(request[0])
                result = None
            else:
                if type(request[0]) is Symbol and self.unit.positions:
                    self.note_enclosing(sub, forms)
                result = sub
        return result  # type: ignore[no-any-return]

    def note_enclosing(self, node: n.Node, forms: list[Any]) -> None:
        """Remember the nearest read list around a variable node, for its error messages."""
        positions = self.unit.positions
        for form in forms[: -_ENCLOSING_SEARCH - 1 : -1]:
            if id(form) in positions:
                self.unit.enclosing[node.idx] = form
                return

    def start(self, x: Any, scope: Scope | None, name: str | None) -> "n.Node | FormCompiler":
        """The node of an atom, or the (not yet started) generator that compiles a compound form."""
        kind = type(x)
        if kind is Symbol:
            return self.c_variable(x, scope)
        if kind is Pair:
            head = x.car
            if type(head) is Symbol and head.name in SPECIAL_FORMS:
                if scope is None or scope.lookup(head.name) is None:
                    return SPECIAL_FORMS[head.name](self, x, scope, name)
            return self.c_call(x, scope)
        if x is NIL or x is UNSPECIFIED or kind in (int, float, str, bool):
            return n.Const(self.unit, x, x)
        raise self.error(x, f"cannot evaluate {write_string(x)}")

    def c_call(self, x: Pair, scope: Scope | None) -> FormCompiler:
        # Atoms (most operands) are compiled here rather than through the driver, which makes
        # compiling much cheaper; a variable's enclosing form is then this call, if it was read.
        positions = self.unit.positions
        placed = id(x) in positions
        inline = placed or not positions
        head = x.car
        if type(head) is Pair or not inline:
            operator = yield (head, scope, None)
        else:
            operator = self.inline_atom(head, scope, x, placed)
        operands = []
        for arg in self.items(x.cdr, "(PROCEDURE ARG ...)"):
            if type(arg) is Pair or not inline:
                operands.append((yield (arg, scope, None)))
            else:
                operands.append(self.inline_atom(arg, scope, x, placed))
        return n.Call(self.unit, x, operator, tuple(operands))

    def inline_atom(self, atom: Any, scope: Scope | None, around: Pair, placed: bool) -> n.Node:
        node: n.Node = self.start(atom, scope, None)  # type: ignore[assignment]
        if placed and type(atom) is Symbol:
            self.unit.enclosing[node.idx] = around
        return node

    def c_variable(self, x: Symbol, scope: Scope | None) -> n.Node:
        found = scope.lookup(x.name) if scope is not None else None
        if found is None:
            return n.GlobalRef(self.unit, x, x.name)
        depth, index = found
        cls = n.LocalRef0 if depth == 0 else n.LocalRef1 if depth == 1 else n.LocalRef
        return cls(self.unit, x, depth, index, x.name)

    def body(self, forms: list[Any], scope: Scope, form: Any) -> FormCompiler:
        """A lambda or let body; its internal defines become slots of ``scope`` (already made)."""
        if not forms:
            raise self.error(form, "empty body: expected at least one expression")
        flat = self.splice_begins(forms)
        for item in flat:
            defined = self.defined_name(item)
            if defined is not None:
                scope.names.append(defined)
        compiled = []
        for item in flat:
            compiled.append((yield from self.compile_body_form(item, scope)))
        return compiled[0] if len(compiled) == 1 else n.Seq(self.unit, form, tuple(compiled))

    def splice_begins(self, forms: list[Any]) -> list[Any]:
        out: list[Any] = []
        pending = list(reversed(forms))
        while pending:
            item = pending.pop()
            if type(item) is Pair and item.car is _BEGIN and self.is_define_begin(item):
                pending.extend(reversed(self.items(item.cdr, "(begin EXPR ...)")))
            else:
                out.append(item)
        return out

    def is_define_begin(self, form: Any) -> bool:
        try:
            return any(type(f) is Pair and f.car is _DEFINE for f in iter_list(form.cdr))
        except Exception:
            return False

    def defined_name(self, form: Any) -> str | None:
        if type(form) is not Pair or form.car is not _DEFINE or type(form.cdr) is not Pair:
            return None
        target = form.cdr.car
        if type(target) is Symbol:
            return target.name
        if type(target) is Pair and type(target.car) is Symbol:
            return target.car.name
        return None

    def compile_body_form(self, form: Any, scope: Scope) -> FormCompiler:
        if type(form) is Pair and form.car is _DEFINE and scope.lookup("define") is None:
            target_name, value = self.define_parts(form)
            depth, index = scope.lookup(target_name)  # type: ignore[misc]
            value_node = yield (value, scope, target_name)
            return n.SetVar(self.unit, form, target_name, depth, index, value_node, True)
        return (yield (form, scope, None))

    def define_parts(self, form: Any) -> tuple[str, Any]:
        usage = "(define NAME VALUE) or (define (NAME PARAM ...) BODY ...)"
        parts = self.items(form, usage)
        if len(parts) < 2:
            raise self.error(form, f"define: missing name, expected {usage}")
        target = parts[1]
        if type(target) is Symbol:
            if len(parts) != 3:
                raise self.error(form, f"define: expected {usage}")
            return target.name, parts[2]
        if type(target) is Pair and type(target.car) is Symbol:
            if len(parts) < 3:
                raise self.error(form, f"define: procedure {target.car.name} has no body")
            lam = Pair(_LAMBDA, Pair(target.cdr, form.cdr.cdr))
            self.positions.setdefault(id(lam), self.positions.get(id(form), (0, 0)))
            return target.car.name, lam
        raise self.error(form, f"define: expected {usage}")

    # --- special forms -------------------------------------------------------------------------

    def c_quote(self, x: Any, scope: Scope | None, name: str | None) -> n.Node:
        parts = self.items(x, "(quote DATUM)")
        if len(parts) != 2:
            raise self.error(x, "quote: expected exactly one datum, as in (quote x) or 'x")
        return n.Const(self.unit, x, parts[1])

    # Every other special form compiles sub-forms, so its compiler is a generator (see ``compile``).

    def c_if(self, x: Any, scope: Scope | None, name: str | None) -> FormCompiler:
        parts = self.items(x, "(if TEST THEN [ELSE])")
        if len(parts) not in (3, 4):
            raise self.error(x, "if: expected (if TEST THEN [ELSE])")
        test = yield (parts[1], scope, None)
        then = yield (parts[2], scope, None)
        otherwise = (yield (parts[3], scope, None)) if len(parts) == 4 else n.Const(self.unit, False, False)
        return n.If(self.unit, x, test, then, otherwise)

    def c_define(self, x: Any, scope: Scope | None, name: str | None) -> FormCompiler:
        if scope is not None:
            raise self.error(x, "define: only allowed at the top level or at the start of a body")
        target_name, value = self.define_parts(x)
        return n.DefineGlobal(self.unit, x, target_name, (yield (value, None, target_name)))

    def c_set(self, x: Any, scope: Scope | None, name: str | None) -> FormCompiler:
        parts = self.items(x, "(set! NAME VALUE)")
        if len(parts) != 3 or type(parts[1]) is not Symbol:
            raise self.error(x, "set!: expected (set! NAME VALUE)")
        target = parts[1].name
        found = scope.lookup(target) if scope is not None else None
        depth, index = found if found is not None else (-1, -1)
        return n.SetVar(self.unit, x, target, depth, index, (yield (parts[2], scope, target)), False)

    def parse_params(self, spec: Any, form: Any) -> tuple[tuple[str, ...], str | None]:
        params: list[str] = []
        current = spec
        while type(current) is Pair:
            if type(current.car) is not Symbol:
                raise self.error(form, f"lambda: parameter {self.written(current.car)} is not a name")
            params.append(current.car.name)
            current = current.cdr
        rest: str | None = None
        if type(current) is Symbol:
            rest = current.name
        elif current is not NIL:
            raise self.error(form, "lambda: expected (lambda (PARAM ...) BODY ...)")
        names = params + ([rest] if rest else [])
        if len(set(names)) != len(names):
            raise self.error(form, "lambda: a parameter name appears twice")
        return tuple(params), rest

    def make_lambda(self, x: Any, spec: Any, body_forms: list[Any], scope: Scope | None, name: str | None) -> FormCompiler:
        params, rest = self.parse_params(spec, x)
        lam = n.Lambda(self.unit, x, params, rest, name)
        inner = Scope(list(params) + ([rest] if rest else []), scope)
        fixed = len(inner.names)
        lam.body = yield from self.body(body_forms, inner, x)
        lam.extra_slots = (UNASSIGNED,) * (len(inner.names) - fixed)
        return lam

    def c_lambda(self, x: Any, scope: Scope | None, name: str | None) -> FormCompiler:
        parts = self.items(x, "(lambda (PARAM ...) BODY ...)")
        if len(parts) < 3:
            raise self.error(x, "lambda: expected (lambda (PARAM ...) BODY ...)")
        return (yield from self.make_lambda(x, parts[1], parts[2:], scope, name))

    def c_begin(self, x: Any, scope: Scope | None, name: str | None) -> FormCompiler:
        parts = self.items(x, "(begin EXPR ...)")[1:]
        if not parts:
            return n.Const(self.unit, x, UNSPECIFIED)
        compiled = []
        for item in parts:
            compiled.append((yield (item, scope, None)))
        return compiled[0] if len(compiled) == 1 else n.Seq(self.unit, x, tuple(compiled))

    def bindings(self, spec: Any, form: Any, who: str) -> list[tuple[str, Any]]:
        usage = f"({who} ((NAME VALUE) ...) BODY ...)"
        result: list[tuple[str, Any]] = []
        for binding in self.items(spec, usage):
            parts = self.items(binding, usage) if type(binding) is Pair else None
            if not parts or len(parts) != 2 or type(parts[0]) is not Symbol:
                raise self.error(form, f"{who}: bad binding {self.written(binding)}, expected (NAME VALUE)")
            result.append((parts[0].name, parts[1]))
        return result

    def c_let(self, x: Any, scope: Scope | None, name: str | None) -> FormCompiler:
        parts = self.items(x, "(let ((NAME VALUE) ...) BODY ...)")
        if len(parts) >= 2 and type(parts[1]) is Symbol:
            return (yield (self.named_let(x, parts), scope, None))
        if len(parts) < 3:
            raise self.error(x, "let: expected (let ((NAME VALUE) ...) BODY ...)")
        pairs = self.bindings(parts[1], x, "let")
        names = [pair[0] for pair in pairs]
        if len(set(names)) != len(names):
            raise self.error(x, "let: a name is bound twice")
        values = []
        for nm, value in pairs:
            values.append((yield (value, scope, nm)))
        node = n.Let(self.unit, x, tuple(values))
        inner = Scope(list(names), scope)
        node.body = yield from self.body(parts[2:], inner, x)
        node.extra_slots = (UNASSIGNED,) * (len(inner.names) - len(names))
        return node

    def c_delay(self, x: Any, scope: Scope | None, name: str | None) -> FormCompiler:
        parts = self.items(x, "(delay EXPR)")
        if len(parts) != 2:
            raise self.error(x, "delay: expected (delay EXPR)")
        return n.Delay(self.unit, x, (yield (parts[1], scope, None)))

    def c_cons_stream(self, x: Any, scope: Scope | None, name: str | None) -> FormCompiler:
        parts = self.items(x, "(cons-stream HEAD TAIL)")
        if len(parts) != 3:
            raise self.error(x, "cons-stream: expected (cons-stream HEAD TAIL)")
        head = yield (parts[1], scope, None)
        tail = yield (parts[2], scope, None)
        return n.ConsStream(self.unit, x, head, tail)

    def c_amb(self, x: Any, scope: Scope | None, name: str | None) -> FormCompiler:
        alternatives = []
        for item in self.items(x, "(amb EXPR ...)")[1:]:
            alternatives.append((yield (item, scope, None)))
        return n.Amb(self.unit, x, tuple(alternatives))

    def c_effect(self, x: Any, scope: Scope | None, name: str | None) -> FormCompiler:
        parts = self.items(x, "(effect OP ARG ...)")
        if len(parts) < 2 or type(parts[1]) is not Symbol:
            raise self.error(x, "effect: expected (effect OP ARG ...) with OP a name such as infer.op")
        args = []
        for arg in parts[2:]:
            args.append((yield (arg, scope, None)))
        return n.Effect(self.unit, x, parts[1].name, tuple(args))

    def c_handle(self, x: Any, scope: Scope | None, name: str | None) -> FormCompiler:
        usage = "(handle BODY (on OP (PARAM ... K) HANDLER-BODY ...) ...)"
        parts = self.items(x, usage)
        if len(parts) < 3:
            raise self.error(x, f"handle: expected {usage}")
        node = n.Handle(self.unit, x)
        node.body = yield (parts[1], scope, None)
        for clause in parts[2:]:
            clause_parts = self.items(clause, usage) if type(clause) is Pair else []
            if len(clause_parts) < 4 or clause_parts[0] is not _ON or type(clause_parts[1]) is not Symbol:
                raise self.error(x, f"handle: bad clause {self.written(clause)}, expected (on OP (PARAM ... K) BODY ...)")
            if type(clause_parts[2]) is not Pair:
                raise self.error(x, f"handle: the clause for {clause_parts[1].name} needs at least the resumption parameter K")
            lam = yield from self.make_lambda(clause, clause_parts[2], clause_parts[3:], scope, f"on {clause_parts[1].name}")
            if lam.rest is not None:
                raise self.error(x, "handle: clause parameters cannot have a rest parameter")
            node.clauses[clause_parts[1].name] = lam
        return node

    def c_oracle_lambda(self, x: Any, scope: Scope | None, name: str | None) -> FormCompiler:
        parts = self.items(x, "(oracle-lambda (PARAM ...) PROMPT-EXPR ...)")
        if len(parts) < 3:
            raise self.error(x, "oracle-lambda: expected (oracle-lambda (PARAM ...) PROMPT-EXPR ...)")
        return n.OracleLambda(self.unit, x, (yield from self.make_lambda(x, parts[1], parts[2:], scope, name)))


SPECIAL_FORMS: dict[str, Callable[[Compiler, Any, Scope | None, str | None], "n.Node | FormCompiler"]] = {
    "quote": Compiler.c_quote,
    "if": Compiler.c_if,
    "define": Compiler.c_define,
    "set!": Compiler.c_set,
    "lambda": Compiler.c_lambda,
    "begin": Compiler.c_begin,
    "let": Compiler.c_let,
    "let*": Compiler.c_let_star,
    "letrec": Compiler.c_letrec,
    "letrec*": Compiler.c_letrec,
    "cond": Compiler.c_cond,
    "and": Compiler.c_and,
    "or": Compiler.c_or,
    "when": Compiler.c_when,
    "unless": Compiler.c_unless,
    "delay": Compiler.c_delay,
    "cons-stream": Compiler.c_cons_stream,
    "amb": Compiler.c_amb,
    "effect": Compiler.c_effect,
    "handle": Compiler.c_handle,
    "oracle-lambda": Compiler.c_oracle_lambda,
}
"""Syntax keywords and their compilers (one table for all compilers: a compiler is made per input)."""


def compile_unit(datum: Any, unit_id: str, positions: dict[int, tuple[int, int]] | None = None) -> n.Unit:
    """Compile one top-level datum into a fresh unit (global scope)."""
    unit = n.Unit(unit_id, datum, positions)
    unit.root = Compiler(unit, _own_copy(positions)).compile(datum, None)
    return unit


def _own_copy(positions: dict[int, tuple[int, int]] | None) -> dict[int, tuple[int, int]] | None:
    """A copy the compiler may add derived forms to, keeping the text of a ``SourcePositions``."""
    if not positions:
        return None
    if type(positions) is not SourcePositions:
        return dict(positions)
    copy = SourcePositions(positions.text)
    copy.update(positions)
    copy.spans = positions.spans
    return copy
