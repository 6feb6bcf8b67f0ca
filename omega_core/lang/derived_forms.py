"""Derived special forms (named ``let``, ``let*``, ``letrec``, ``cond``, ``and``/``or``, ``when``,
``unless``): each is rewritten into core forms or built from core nodes, as part of ``Compiler``.

Like every form compiler, these are generators that yield the sub-forms they need compiled (see
``Compiler.compile``), so no derived form makes the compiler recurse in Python either.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from omega_core.lang import nodes as n
from omega_core.lang.values import NIL, UNSPECIFIED, Pair, make_list, sym

if TYPE_CHECKING:
    from omega_core.lang.compiler import Compiler, FormCompiler, Scope

_DEFINE = sym("define")
_BEGIN = sym("begin")
_LAMBDA = sym("lambda")
_LET = sym("let")
_ELSE = sym("else")


class DerivedForms:
    """The derived forms' compilers, mixed into ``Compiler`` (their ``self`` is a ``Compiler``)."""

    def named_let(self: "Compiler", x: Any, parts: list[Any]) -> Any:
        """The form a named ``let`` stands for: ``((let () (define NAME (lambda ...)) NAME) INIT ...)``."""
        if len(parts) < 4:
            raise self.error(x, "let: expected (let NAME ((VAR INIT) ...) BODY ...)")
        loop = parts[1]
        pairs = self.bindings(parts[2], x, "let")
        lam = Pair(_LAMBDA, Pair(make_list(sym(nm) for nm, _ in pairs), x.cdr.cdr.cdr))
        definition = make_list([_DEFINE, loop, lam])
        operator = make_list([_LET, NIL, definition, loop])
        call = Pair(operator, make_list(value for _, value in pairs))
        self.positions.setdefault(id(call), self.positions.get(id(x), (0, 0)))
        return call

    def c_let_star(self: "Compiler", x: Any, scope: Scope | None, name: str | None) -> FormCompiler:
        parts = self.items(x, "(let* ((NAME VALUE) ...) BODY ...)")
        if len(parts) < 3:
            raise self.error(x, "let*: expected (let* ((NAME VALUE) ...) BODY ...)")
        bindings = self.items(parts[1], "(let* ((NAME VALUE) ...) BODY ...)")
        body = x.cdr.cdr
        if len(bindings) <= 1:
            return (yield (Pair(_LET, Pair(parts[1], body)), scope, None))
        inner = Pair(sym("let*"), Pair(make_list(bindings[1:]), body))
        return (yield (make_list([_LET, make_list(bindings[:1]), inner]), scope, None))

    def c_letrec(self: "Compiler", x: Any, scope: Scope | None, name: str | None) -> FormCompiler:
        parts = self.items(x, "(letrec ((NAME VALUE) ...) BODY ...)")
        if len(parts) < 3:
            raise self.error(x, "letrec: expected (letrec ((NAME VALUE) ...) BODY ...)")
        pairs = self.bindings(parts[1], x, "letrec")
        defines = [make_list([_DEFINE, sym(nm), value]) for nm, value in pairs]
        return (yield (Pair(_LET, Pair(NIL, make_list(defines, x.cdr.cdr))), scope, None))

    def c_cond(self: "Compiler", x: Any, scope: Scope | None, name: str | None) -> FormCompiler:
        clauses = self.items(x, "(cond (TEST EXPR ...) ... [(else EXPR ...)])")[1:]
        result: n.Node = n.Const(self.unit, x, False)
        for position in range(len(clauses) - 1, -1, -1):
            clause = clauses[position]
            parts = self.items(clause, "(TEST EXPR ...)") if type(clause) is Pair else None
            if not parts:
                raise self.error(x, f"cond: bad clause {self.written(clause)}, expected (TEST EXPR ...)")
            if parts[0] is _ELSE:
                if position != len(clauses) - 1:
                    raise self.error(x, "cond: else must be the last clause")
                if len(parts) > 1:
                    result = yield from self.c_begin(Pair(_BEGIN, clause.cdr), scope, None)
                else:
                    result = n.Const(self.unit, clause, UNSPECIFIED)
                continue
            test = yield (parts[0], scope, None)
            if len(parts) == 1:
                result = n.AndOr(self.unit, clause, (test, result), False)
            else:
                then = yield from self.c_begin(Pair(_BEGIN, clause.cdr), scope, None)
                result = n.If(self.unit, clause, test, then, result)
        return result

    def and_or(self: "Compiler", x: Any, scope: Scope | None, is_and: bool) -> FormCompiler:
        parts = []
        for item in self.items(x, "(and EXPR ...)")[1:]:
            parts.append((yield (item, scope, None)))
        if not parts:
            return n.Const(self.unit, x, is_and)
        if len(parts) == 1:
            return parts[0]  # type: ignore[no-any-return]
        return n.AndOr(self.unit, x, tuple(parts), is_and)

    def c_and(self: "Compiler", x: Any, scope: Scope | None, name: str | None) -> FormCompiler:
        return (yield from self.and_or(x, scope, True))

    def c_or(self: "Compiler", x: Any, scope: Scope | None, name: str | None) -> FormCompiler:
        return (yield from self.and_or(x, scope, False))

    def when_unless(self: "Compiler", x: Any, scope: Scope | None, negate: bool) -> FormCompiler:
        who = "unless" if negate else "when"
        parts = self.items(x, f"({who} TEST EXPR ...)")
        if len(parts) < 3:
            raise self.error(x, f"{who}: expected ({who} TEST EXPR ...)")
        test = yield (parts[1], scope, None)
        body = yield from self.c_begin(Pair(_BEGIN, x.cdr.cdr), scope, None)
        skip = n.Const(self.unit, x, UNSPECIFIED)
        if negate:
            return n.If(self.unit, x, test, skip, body)
        return n.If(self.unit, x, test, body, skip)

    def c_when(self: "Compiler", x: Any, scope: Scope | None, name: str | None) -> FormCompiler:
        return (yield from self.when_unless(x, scope, False))

    def c_unless(self: "Compiler", x: Any, scope: Scope | None, name: str | None) -> FormCompiler:
        return (yield from self.when_unless(x, scope, True))
