"""Every special form of LANGUAGE.md, the REPL's printed forms, and the original's defects we fix.

Programs run through ``Evaluator.run_text`` exactly as the REPL runs an input; ``run`` returns one
transcript per top-level form (``display`` output, then ``=> value`` or ``error: ...``).
"""

from __future__ import annotations

import pytest

from omega_core.evaluator import Evaluator


def run(src: str) -> list[str]:
    """The transcript of every top-level form of ``src``, run in one fresh evaluator."""
    return [result.transcript() for result in Evaluator().run_text(src)]


def last(src: str) -> str:
    return run(src)[-1]


def value(src: str) -> str:
    """The printed value of the last form; fails the test if it was an error."""
    text = last(src)
    assert text.startswith("=> ") or "\n=> " in text, text
    return text.rsplit("=> ", 1)[1]


def error(src: str) -> str:
    """The message of the last form's error; fails the test if it had none."""
    text = last(src)
    assert text.startswith("error: ") or "\nerror: " in text, text
    return text.split("error: ", 1)[1]


# --- define -------------------------------------------------------------------------------------


def test_define_value_prints_name_and_binds() -> None:
    assert run("(define x 42) x (define y (+ x 1)) y") == ["=> x", "=> 42", "=> y", "=> 43"]


def test_define_procedure_form() -> None:
    assert run("(define (square n) (* n n)) (square 7)") == ["=> square", "=> 49"]
    assert run("(define (three) 3) (three)") == ["=> three", "=> 3"]


def test_define_procedure_with_body_of_several_expressions() -> None:
    assert value('(define (f x) (display "a") (display x) (* x 2)) (f 4)') == "8"
    assert last('(define (f x) (display "a") (display x) (* x 2)) (f 4)') == "a4\n=> 8"


def test_internal_defines() -> None:
    src = """
    (define (f x)
      (define a (* x 2))
      (define (g y) (+ y a))
      (g 1))
    (f 10)
    """
    assert run(src) == ["=> f", "=> 21"]


def test_internal_defines_are_mutually_recursive() -> None:
    src = """
    (define (parity n)
      (define (ev? n) (if (= n 0) #t (od? (- n 1))))
      (define (od? n) (if (= n 0) #f (ev? (- n 1))))
      (list (ev? n) (od? n)))
    (parity 7)
    """
    assert value(src) == "(#f #t)"


def test_internal_define_is_local() -> None:
    src = "(define (f) (define hidden 5) hidden) (f) hidden"
    results = run(src)
    assert results[1] == "=> 5"
    assert results[2].startswith("error: unbound variable: hidden")


def test_internal_define_in_let_body_and_lambda_body() -> None:
    assert value("(let ((x 1)) (define y 2) (+ x y))") == "3"
    assert value("((lambda (x) (define y (* x x)) y) 5)") == "25"


def test_top_level_definitions_refer_to_each_other_in_any_order() -> None:
    src = """
    (define (is-even? n) (if (= n 0) #t (is-odd? (- n 1))))
    (define (is-odd? n) (if (= n 0) #f (is-even? (- n 1))))
    (list (is-even? 10) (is-odd? 7) (is-even? 3))
    """
    assert run(src) == ["=> is-even?", "=> is-odd?", "=> (#t #t #f)"]


def test_earlier_definition_uses_a_later_one_across_inputs() -> None:
    ev = Evaluator()
    first = [r.transcript() for r in ev.run_text("(define (area r) (* pi r r))")]
    second = [r.transcript() for r in ev.run_text("(define pi 3) (area 2)")]
    assert first == ["=> area"]
    assert second == ["=> pi", "=> 12"]


def test_redefinition_replaces_the_value_everywhere() -> None:
    src = """
    (define (greet) "hello")
    (define (call-greet) (greet))
    (call-greet)
    (define (greet) "bonjour")
    (call-greet)
    (define x 1)
    (define x (+ x 10))
    x
    """
    assert run(src) == ['=> greet', '=> call-greet', '=> "hello"', '=> greet', '=> "bonjour"', '=> x', '=> x', '=> 11']


def test_define_can_shadow_a_builtin() -> None:
    assert run("(define (car x) 'mine) (car '(1 2))") == ["=> car", "=> mine"]


def test_define_syntax_errors_are_reported_and_session_goes_on() -> None:
    results = run("(define) (define 5 6) (define (f)) 7")
    assert all(r.startswith("error: ") for r in results[:3]), results
    assert results[3] == "=> 7"


# --- lambda ------------------------------------------------------------------------------------


def test_lambda_fixed_parameters() -> None:
    assert value("((lambda (a b) (- a b)) 10 3)") == "7"
    assert value("((lambda () 5))") == "5"


def test_lambda_rest_parameter() -> None:
    assert value("((lambda (a . rest) (list a rest)) 1 2 3)") == "(1 (2 3))"
    assert value("((lambda (a . rest) (list a rest)) 1)") == "(1 null)"
    assert value("((lambda (a b . rest) rest) 1 2 3 4)") == "(3 4)"


def test_lambda_rest_only_parameter() -> None:
    assert value("((lambda args args) 1 2 3)") == "(1 2 3)"
    assert value("((lambda args args))") == "null"
    assert value("(define (count . xs) (length xs)) (count 'a 'b 'c)") == "3"


def test_lambda_arity_errors() -> None:
    assert "expected 2 arguments, got 1" in error("((lambda (a b) a) 1)")
    assert "at least 1 argument" in error("((lambda (a . r) a))")
    assert "expected" in error("(define (f x) x) (f 1 2)")


def test_closures_capture_their_environment() -> None:
    src = """
    (define (make-adder n) (lambda (x) (+ x n)))
    (define add5 (make-adder 5))
    (define add10 (make-adder 10))
    (list (add5 1) (add10 1))
    """
    assert value(src) == "(6 11)"


def test_bad_lambda_syntax() -> None:
    assert error("(lambda (1) 1)").startswith("lambda")
    assert "twice" in error("(lambda (a a) a)")
    assert error("(lambda (x))").startswith("lambda")


# --- if / cond ---------------------------------------------------------------------------------


def test_if() -> None:
    assert run("(if #t 1 2) (if #f 1 2) (if 0 'yes 'no) (if '() 'yes 'no) (if \"\" 'yes 'no)") == [
        "=> 1", "=> 2", "=> yes", "=> yes", "=> yes",
    ]


def test_if_missing_else_gives_false() -> None:
    assert value("(if #f 1)") == "#f"
    assert value("(if (= 1 2) 'x)") == "#f"


def test_if_evaluates_only_the_chosen_branch() -> None:
    assert last('(if #t (display "then") (display "else"))') == "then\n=> null"
    assert last('(if #f (error "boom") 5)') == "=> 5"


def test_cond_with_else() -> None:
    src = """
    (define (classify n)
      (cond ((< n 0) 'negative)
            ((= n 0) 'zero)
            (else 'positive)))
    (list (classify -5) (classify 0) (classify 9))
    """
    assert value(src) == "(negative zero positive)"


def test_cond_without_match_and_without_else() -> None:
    assert value("(cond (#f 1) ((= 1 2) 2))") == "#f"


def test_cond_test_only_clause_returns_the_test_value() -> None:
    assert value("(cond ((assoc 2 '((1 . a) (2 . b)))) (else 'none))") == "(2 . b)"
    assert value("(cond (#f) ((+ 1 2)) (else 'none))") == "3"
    assert value("(cond (#f) (else 'none))") == "none"


def test_cond_clause_bodies_run_in_order_and_stop_at_first_match() -> None:
    src = "(cond ((begin (display 1) #f) 'a) ((begin (display 2) #t) (display 3) 'b) ((begin (display 4) #t) 'c))"
    assert last(src) == "123\n=> b"


def test_cond_else_not_last_is_an_error() -> None:
    assert "else" in error("(cond (else 1) (#t 2))")


# --- let forms ---------------------------------------------------------------------------------


def test_let() -> None:
    assert value("(let ((x 2) (y 3)) (* x y))") == "6"
    assert value("(let () 5)") == "5"


def test_let_inits_see_the_outer_scope() -> None:
    assert value("(define x 1) (let ((x 10) (y x)) (list x y))") == "(10 1)"


def test_let_body_of_several_expressions() -> None:
    assert last('(let ((x 1)) (display "a") (display x) (+ x 1))') == "a1\n=> 2"


def test_named_let() -> None:
    assert value("(let loop ((i 0) (acc '())) (if (= i 5) (reverse acc) (loop (+ i 1) (cons i acc))))") == "(0 1 2 3 4)"
    src = "(define (fact n) (let iter ((k n) (acc 1)) (if (= k 0) acc (iter (- k 1) (* acc k))))) (fact 20)"
    assert value(src) == "2432902008176640000"


def test_named_let_name_is_local() -> None:
    assert run("(let loop ((i 0)) i) loop")[1].startswith("error: unbound variable: loop")


def test_let_star_sees_earlier_bindings() -> None:
    assert value("(let* ((x 2) (y (* x 10)) (z (+ x y))) (list x y z))") == "(2 20 22)"
    assert value("(let* () 7)") == "7"


def test_letrec_mutual_recursion() -> None:
    src = """
    (letrec ((ev? (lambda (n) (if (= n 0) #t (od? (- n 1)))))
             (od? (lambda (n) (if (= n 0) #f (ev? (- n 1))))))
      (list (ev? 100) (od? 100)))
    """
    assert value(src) == "(#t #f)"


def test_let_bad_bindings() -> None:
    assert "let" in error("(let ((x)) x)")
    assert "let" in error("(let (x 1) x)")


# --- begin / set! ------------------------------------------------------------------------------


def test_begin_returns_last_and_runs_all_in_order() -> None:
    assert last('(begin (display "a") (display "b") 3)') == "ab\n=> 3"
    assert value("(begin)") == "null"
    assert value("(begin 1 2 3)") == "3"


def test_set_local_variable() -> None:
    assert value("(let ((x 1)) (set! x (+ x 41)) x)") == "42"
    src = "(define (counter) (let ((n 0)) (lambda () (set! n (+ n 1)) n))) (define c (counter)) (c) (c) (c)"
    assert run(src)[-3:] == ["=> 1", "=> 2", "=> 3"]


def test_set_parameter() -> None:
    assert value("(define (f x) (set! x (* x 2)) x) (f 21)") == "42"


def test_set_global_variable() -> None:
    assert run("(define g 1) (set! g 5) g") == ["=> g", "=> null", "=> 5"]
    assert run("(define g 1) (define (bump) (set! g (+ g 1))) (bump) (bump) g")[-1] == "=> 3"


def test_set_unbound_global_is_an_error() -> None:
    message = error("(set! never-defined 1)")
    assert "never-defined" in message
    assert "unbound" in message
    assert run("(set! never-defined 1) (define never-defined 2) never-defined")[-1] == "=> 2"


# --- quote -------------------------------------------------------------------------------------


def test_quote() -> None:
    assert run("'x (quote x) '() '(1 2 (3)) '(a . b) ''a '\"s\" '#t") == [
        "=> x", "=> x", "=> null", "=> (1 2 (3))", "=> (a . b)", "=> (quote a)", '=> "s"', "=> #t",
    ]


def test_quoted_data_is_not_evaluated() -> None:
    assert value("'(undefined-function (car 1))") == "(undefined-function (car 1))"
    assert value("(car '(+ 1 2))") == "+"
    assert value("(null? '())") == "#t"
    assert value("(length '(1 (2 3) \"x\"))") == "3"


# --- and / or ----------------------------------------------------------------------------------


def test_and_or_values() -> None:
    assert run("(and) (or) (and 1 2 3) (and 1 #f 3) (or #f 2 3) (or #f #f)") == [
        "=> #t", "=> #f", "=> 3", "=> #f", "=> 2", "=> #f",
    ]
    assert value("(and 5)") == "5"
    assert value("(or '() 1)") == "null"  # only #f is false


def test_and_short_circuits() -> None:
    assert last('(and #f (display "evaluated") (error "boom"))') == "=> #f"
    assert last('(and (begin (display "a") #t) (begin (display "b") #f) (display "c"))') == "ab\n=> #f"
    assert last("(and (= 1 2) (car '()))") == "=> #f"


def test_or_short_circuits() -> None:
    assert last('(or 1 (display "evaluated") (error "boom"))') == "=> 1"
    assert last('(or (begin (display "a") #f) (begin (display "b") 7) (display "c"))') == "ab\n=> 7"
    assert last("(or (pair? '(1)) (car '()))") == "=> #t"


def test_and_or_short_circuit_inside_procedures() -> None:
    src = """
    (define (safe-car x) (and (pair? x) (car x)))
    (define (first-or-zero x) (or (safe-car x) 0))
    (list (safe-car 5) (safe-car '(9)) (first-or-zero '()) (first-or-zero '(4)))
    """
    assert value(src) == "(#f 9 0 4)"


# --- when / unless -----------------------------------------------------------------------------


def test_when_unless() -> None:
    assert last('(when (> 2 1) (display "yes") 1 2)') == "yes\n=> 2"
    assert last('(when (< 2 1) (display "no") (error "boom"))') == "=> null"
    assert last('(unless (< 2 1) (display "yes") 3)') == "yes\n=> 3"
    assert last('(unless (> 2 1) (display "no") (error "boom"))') == "=> null"


# --- delay / force -----------------------------------------------------------------------------


def test_delay_does_not_evaluate_until_forced() -> None:
    assert last('(define p (delay (begin (display "ran") 5)))') == "=> p"
    assert last('(define p (delay (begin (display "ran") 5))) (force p)') == "ran\n=> 5"


def test_force_is_memoized() -> None:
    src = """
    (define count 0)
    (define p (delay (begin (set! count (+ count 1)) (display "once") (* 6 7))))
    (list (force p) (force p) (force p))
    count
    """
    results = run(src)
    assert results[2] == "once\n=> (42 42 42)"
    assert results[3] == "=> 1"


def test_force_of_a_non_promise_is_the_value() -> None:
    assert value("(force 5)") == "5"


def test_delay_prints_as_promise() -> None:
    assert value("(delay 1)") == "<promise>"


# --- streams ---------------------------------------------------------------------------------


def test_cons_stream_delays_its_tail() -> None:
    src = '(define s (cons-stream 1 (begin (display "tail") (error "never")))) (stream-car s)'
    assert run(src) == ["=> s", "=> 1"]
    assert last('(define s (cons-stream 1 (begin (display "tail") 2))) (list (stream-cdr s) (stream-cdr s))') == "tail\n=> (2 2)"


def test_stream_cons_with_a_thunk() -> None:
    src = "(define s (stream-cons 1 (lambda () (stream-cons 2 (lambda () the-empty-stream))))) (stream->list s)"
    assert value(src) == "(1 2)"
    assert "procedure" in error("(stream-cons 1 2)")


def test_the_empty_stream_and_stream_null() -> None:
    assert run("(stream-null? the-empty-stream) (stream-null? (cons-stream 1 '())) the-empty-stream") == [
        "=> #t", "=> #f", "=> null",
    ]


def test_infinite_streams() -> None:
    src = """
    (define (integers-from n) (cons-stream n (integers-from (+ n 1))))
    (define nat (integers-from 0))
    (stream->list nat 5)
    (stream->list (stream-map (lambda (x) (* x x)) nat) 5)
    (stream->list (stream-filter (lambda (x) (= (modulo x 3) 0)) nat) 4)
    (stream->list (stream-take nat 3))
    (stream-car (stream-cdr (stream-cdr nat)))
    """
    assert run(src)[2:] == ["=> (0 1 2 3 4)", "=> (0 1 4 9 16)", "=> (0 3 6 9)", "=> (0 1 2)", "=> 2"]


def test_stream_map_with_several_streams() -> None:
    src = """
    (define (ints n) (cons-stream n (ints (+ n 1))))
    (stream->list (stream-map + (ints 1) (ints 10)) 3)
    """
    assert value(src) == "(11 13 15)"


def test_stream_to_list_without_count_on_finite_stream() -> None:
    assert value("(stream->list (list->stream '(1 2 3)))") == "(1 2 3)"
    assert value("(stream->list (list->stream '(1 2 3)) 2)") == "(1 2)"
    assert value("(stream->list the-empty-stream 4)") == "null"


def test_stream_tail_is_forced_at_most_once() -> None:
    src = """
    (define n 0)
    (define s (cons-stream 1 (begin (set! n (+ n 1)) (cons-stream 2 '()))))
    (stream-cdr s) (stream-cdr s) (stream->list s)
    n
    """
    assert last(src) == "=> 1"


def test_stream_errors() -> None:
    assert "stream-car" in error("(stream-car '())")
    assert "stream-cdr" in error("(stream-cdr 5)")


# --- amb / require ---------------------------------------------------------------------------


def test_amb_returns_first_alternative() -> None:
    assert value("(amb 1 2 3)") == "1"


def test_require_backtracks() -> None:
    assert value("(let ((x (amb 1 2 3 4 5))) (require (> x 3)) x)") == "4"


def test_amb_pythagorean_triple() -> None:
    src = """
    (define (int-between lo hi) (require (<= lo hi)) (amb lo (int-between (+ lo 1) hi)))
    (let* ((a (int-between 1 20)) (b (int-between a 20)) (c (int-between b 20)))
      (require (= (+ (* a a) (* b b)) (* c c)))
      (list a b c))
    """
    assert value(src) == "(3 4 5)"


def test_amb_alternatives_are_evaluated_lazily() -> None:
    assert last('(amb (begin (display "first") 1) (begin (display "second") 2))') == "first\n=> 1"
    src = '(let ((x (amb (begin (display "a") 1) (begin (display "b") 2)))) (require (even? x)) x)'
    assert last(src) == "ab\n=> 2"


def test_amb_no_more_choices() -> None:
    assert error("(amb)").startswith("amb: no more choices")
    assert error("(let ((x (amb 1 2))) (require (> x 5)) x)").startswith("amb: no more choices")
    assert error("(require #f)").startswith("amb: no more choices")


def test_require_true_continues() -> None:
    assert value("(begin (require #t) 'ok)") == "ok"


def test_choice_points_do_not_carry_over_to_the_next_form() -> None:
    results = run("(amb 1 2 3)\n(require #f)\n(amb)")
    assert results[0] == "=> 1"
    assert results[1].startswith("error: amb: no more choices")
    assert results[2].startswith("error: amb: no more choices")


def test_choice_points_do_not_carry_over_between_inputs() -> None:
    ev = Evaluator()
    assert [r.transcript() for r in ev.run_text("(define x (amb 1 2 3))")] == ["=> x"]
    assert [r.transcript() for r in ev.run_text("x")] == ["=> 1"]
    [result] = list(ev.run_text("(require (> x 1))"))
    assert result.error is not None and result.error.startswith("amb: no more choices")
    assert [r.transcript() for r in ev.run_text("x")] == ["=> 1"]


def test_amb_backtracking_undoes_nothing_but_retries_in_order() -> None:
    src = """
    (define tries '())
    (define (record x) (set! tries (cons x tries)) x)
    (let ((x (record (amb 1 2 3)))) (require (= x 3)) x)
    (reverse tries)
    """
    assert run(src)[-2:] == ["=> 3", "=> (1 2 3)"]


def test_amb_inside_map_with_closure() -> None:
    src = "(let ((xs (map (lambda (x) (amb x (* 10 x))) '(1 2)))) (require (> (apply + xs) 15)) xs)"
    assert value(src) == "(1 20)"


# --- effect ----------------------------------------------------------------------------------


def test_unknown_effect_is_an_error_naming_the_op() -> None:
    message = error("(effect my.custom.op 1 2)")
    assert "my.custom.op" in message
    assert "unhandled effect" in message


def test_host_effect_reaches_the_oracle() -> None:
    # the default oracle is the scripted one, offline, answering its clearly marked fallback
    text = value('(effect infer.op "anything at all")')
    assert text.startswith('"') and "fallback" in text


def test_effect_arguments_are_evaluated() -> None:
    src = '(handle (effect echo.op (+ 1 2) (string-append "a" "b")) (on echo.op (x y k) (k (list x y))))'
    assert value(src) == '(3 "ab")'


def test_effect_syntax_error() -> None:
    assert "effect" in error("(effect)")
    assert "effect" in error('(effect "infer.op" 1)')


# --- oracle-lambda -----------------------------------------------------------------------------


def test_oracle_lambda_prints_as_oracle_proc() -> None:
    assert value("(oracle-lambda (x) x)") == "<oracle-proc>"
    assert run("(define ask (oracle-lambda (q) q)) ask")[1] == "=> <oracle-proc>"


def test_oracle_lambda_computes_its_prompt_from_the_body() -> None:
    src = """
    (define prompts '())
    (define capital (oracle-lambda (country) (display "building") (string-append "capital of " country)))
    (handle (capital "France")
      (on infer.op (prompt k) (set! prompts (cons prompt prompts)) (k (string-append "answer to " prompt))))
    prompts
    """
    results = run(src)
    assert results[2] == 'building\n=> "answer to capital of France"'
    assert results[3] == '=> ("capital of France")'


def test_oracle_lambda_is_a_procedure() -> None:
    assert value("(procedure? (oracle-lambda () \"q\"))") == "#t"


# --- handle / on -------------------------------------------------------------------------------


def test_handler_receives_arguments_and_k() -> None:
    src = "(handle (effect pair.op 1 2) (on pair.op (a b k) (list a b (procedure? k))))"
    assert value(src) == "(1 2 #t)"


def test_handler_resume_once() -> None:
    assert value("(handle (+ 1 (effect ask.op 10)) (on ask.op (x k) (k (* x 2))))") == "21"


def test_handler_resume_twice_is_multi_shot() -> None:
    assert value("(handle (+ 1 (effect ask.op 10)) (on ask.op (x k) (list (k 1) (k 2))))") == "(2 3)"
    src = "(handle (list 'got (effect ask.op)) (on ask.op (k) (append (k 'a) (k 'b))))"
    assert value(src) == "(got a got b)"


def test_multi_shot_resumption_runs_the_rest_each_time() -> None:
    src = '(handle (begin (display "<") (display (effect ask.op)) (display ">") 0) (on ask.op (k) (k 1) (k 2) \'done))'
    assert last(src) == "<1>2>\n=> done"  # "<" ran before the effect, once; the rest runs per resume


def test_handler_not_resuming_aborts_to_the_handle() -> None:
    src = '(handle (begin (display "before ") (effect stop.op) (display "after") 5) (on stop.op (k) \'aborted))'
    assert last(src) == "before \n=> aborted"
    assert value("(+ 100 (handle (* 2 (effect stop.op 7)) (on stop.op (x k) x)))") == "107"


def test_handle_value_passes_through_when_no_effect() -> None:
    assert value("(handle (+ 1 2) (on never.op (k) 'no))") == "3"


def test_handlers_are_deep_every_effect_of_the_body_is_handled() -> None:
    src = "(handle (+ (effect n.op 1) (effect n.op 2) (effect n.op 3)) (on n.op (x k) (k (* x 10))))"
    assert value(src) == "60"


def test_nested_handlers_inner_wins() -> None:
    src = """
    (handle (handle (effect a.op 1) (on a.op (x k) (k (list 'inner x))))
            (on a.op (x k) (k (list 'outer x))))
    """
    assert value(src) == "(inner 1)"


def test_effect_not_handled_by_inner_reaches_outer() -> None:
    src = """
    (handle (handle (list (effect a.op 1) (effect b.op 2))
                    (on a.op (x k) (k (+ x 10))))
            (on b.op (x k) (k (+ x 20))))
    """
    assert value(src) == "(11 22)"


def test_effect_inside_handler_clause_goes_to_outer_handler() -> None:
    src = """
    (handle (handle (effect a.op 1)
                    (on a.op (x k) (k (effect b.op x))))
            (on b.op (y k) (k (* y 100))))
    """
    assert value(src) == "100"


def test_handlers_with_procedures_and_closures() -> None:
    src = """
    (define (ask q) (effect ask.op q))
    (define (both) (list (ask "a") (ask "b")))
    (handle (map (lambda (q) (ask q)) '("x" "y")) (on ask.op (q k) (k (string-append q "!"))))
    (handle (both) (on ask.op (q k) (k (string-upcase q))))
    """
    assert run(src)[2:] == ['=> ("x!" "y!")', '=> ("A" "B")']


def test_handler_arity_mismatch_is_an_error() -> None:
    assert "handler" in error("(handle (effect a.op 1 2) (on a.op (x k) x))")


def test_handler_state_threading() -> None:
    # a state handler: get/put effects implemented by resuming with a function of the state
    src = """
    (define (run-state thunk init)
      ((handle (let ((v (thunk))) (lambda (s) (list v s)))
         (on get.op (k) (lambda (s) ((k s) s)))
         (on put.op (n k) (lambda (s) ((k 'ok) n))))
       init))
    (run-state (lambda () (effect put.op (+ (effect get.op) 5)) (* 2 (effect get.op))) 10)
    """
    assert value(src) == "(30 15)"


def test_handle_syntax_error() -> None:
    assert "handle" in error("(handle (effect a.op))")
    assert "handle" in error("(handle 1 (when a.op (k) 1))")


# --- call/cc -----------------------------------------------------------------------------------


def test_call_cc_escape() -> None:
    assert value("(+ 1 (call/cc (lambda (k) (+ 10 (k 5)))))") == "6"
    assert value("(call/cc (lambda (k) 42))") == "42"
    assert value("(call-with-current-continuation (lambda (k) (k 'x) 'y))") == "x"


def test_call_cc_early_exit_from_loop() -> None:
    src = """
    (define (find-first pred lst)
      (call/cc (lambda (return)
        (for-each (lambda (x) (when (pred x) (return x))) lst)
        #f)))
    (list (find-first even? '(1 3 4 5 6)) (find-first even? '(1 3)))
    """
    assert value(src) == "(4 #f)"


def test_call_cc_reentry_through_a_global() -> None:
    src = """
    (define saved #f)
    (define count 0)
    (let ((r (+ 100 (call/cc (lambda (k) (set! saved k) 1)))))
      (set! count (+ count 1))
      (if (< count 4) (saved (* count 10)) (list r count)))
    """
    assert value(src) == "(130 4)"


def test_call_cc_reentry_reruns_side_effects_after_capture() -> None:
    src = """
    (define k2 #f)
    (define n 0)
    (begin (display "A") (call/cc (lambda (k) (set! k2 k))) (display "B") (set! n (+ n 1)) (if (< n 3) (k2 #f) n))
    """
    assert last(src) == "ABBB\n=> 3"


def test_continuation_prints_and_is_a_procedure() -> None:
    assert value("(call/cc (lambda (k) k))") == "<continuation>"
    assert value("(call/cc (lambda (k) (procedure? k)))") == "#t"


# --- printing through the REPL ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("src", "printed"),
    [
        ("3", "3"),
        ("2.5", "2.5"),
        ("(/ 1.0 3)", "0.3333333333333333"),
        ('"a\\"b\\nc"', '"a\\"b\\nc"'),
        ("#t", "#t"),
        ("#f", "#f"),
        ("'()", "null"),
        ("'a", "a"),
        ("(list 1 (list 2) \"s\" #t)", '(1 (2) "s" #t)'),
        ("(cons 1 2)", "(1 . 2)"),
        ("(lambda (x) x)", "<closure (x)>"),
        ("(lambda (x y) x)", "<closure (x y)>"),
        ("(lambda (a . rest) a)", "<closure (a . rest)>"),
        ("(lambda args 1)", "<closure args>"),
        ("(lambda () 1)", "<closure ()>"),
        ("car", "<prim>"),
        ("map", "<prim>"),
        ("filter", "<prim>"),
        ("stream-map", "<prim>"),
        ("force", "<prim>"),
        ("call/cc", "<prim>"),
        ("(call/cc (lambda (k) k))", "<continuation>"),
        ("(oracle-lambda (q) q)", "<oracle-proc>"),
    ],
)
def test_printed_forms(src: str, printed: str) -> None:
    assert value(src) == printed


def test_define_prints_name_and_unspecified_prints_null() -> None:
    assert run('(define z 1) (set! z 2) (display "x") (newline)') == ["=> z", "=> null", "x\n=> null", "\n=> null"]


def test_display_output_comes_before_the_value_line() -> None:
    assert last('(begin (display "hello") (display " ") (display 42) (newline) (display \'(1 "a")) 7)') == 'hello 42\n(1 a)\n=> 7'


def test_display_writes_strings_raw_and_other_values_printed() -> None:
    assert last('(display "a\\"b")') == 'a"b\n=> null'
    assert last("(display (list 1 2.5 #t 'x))") == "(1 2.5 #t x)\n=> null"


def test_named_closure_prints_its_parameters() -> None:
    assert run("(define (add x y) (+ x y)) add") == ["=> add", "=> <closure (x y)>"]


def test_errors_print_one_line_and_session_goes_on() -> None:
    results = run("(car '()) (+ 1 1)")
    assert results[0].startswith("error: ")
    assert "\n" not in results[0]
    assert results[1] == "=> 2"


# --- the original's defects we do not copy --------------------------------------------------------


def test_defect_every_form_of_an_input_runs() -> None:
    assert run("1 2 (+ 1 2)") == ["=> 1", "=> 2", "=> 3"]
    assert run('(display "a") (display "b")') == ["a\n=> null", "b\n=> null"]


def test_defect_later_definitions_visible_to_earlier_ones() -> None:
    src = "(define (f) (g)) (define (g) 'from-g) (f)"
    assert run(src) == ["=> f", "=> g", "=> from-g"]


def test_defect_quoted_empty_list_and_quoted_lists_parse() -> None:
    src = "(define xs '(1 2 3))\n(define empty '())\n(list (length xs) (null? empty) '(a (b)))"
    assert run(src) == ["=> xs", "=> empty", "=> (3 #t (a (b)))"]


def test_defect_fib_20_is_not_capped() -> None:
    src = "(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2))))) (fib 20)"
    results = list(Evaluator().run_text(src + " (fib 25)"))
    assert results[1].value == "6765"
    assert results[2].value == "75025"
    assert results[2].steps > 100_000  # well past the original's cap, and it was not stopped


def test_defect_and_or_short_circuit() -> None:
    assert run('(and #f (display "no")) (or #t (display "no"))') == ["=> #f", "=> #t"]
    assert value("(and (pair? '()) (car '()))") == "#f"


@pytest.mark.parametrize(
    ("src", "printed"),
    [
        ("(map (lambda (x) (* x x)) '(1 2 3))", "(1 4 9)"),
        ("(map (lambda (x y) (+ x y)) '(1 2 3) '(10 20 30))", "(11 22 33)"),
        ("(filter (lambda (x) (> x 2)) '(1 2 3 4))", "(3 4)"),
        ("(fold-left (lambda (acc x) (cons x acc)) '() '(1 2 3))", "(3 2 1)"),
        ("(fold-right (lambda (x acc) (cons x acc)) '() '(1 2 3))", "(1 2 3)"),
        ("(fold-left (lambda (a b) (- a b)) 0 '(1 2 3))", "-6"),
        ("(fold-right (lambda (a b) (- a b)) 0 '(1 2 3))", "2"),
        ("(reduce (lambda (x acc) (+ x acc)) 0 '(1 2 3 4))", "10"),
        ("(reduce (lambda (x acc) (+ x acc)) 0 '())", "0"),
        ("(let ((sum 0)) (for-each (lambda (x) (set! sum (+ sum x))) '(1 2 3)) sum)", "6"),
        ("(apply (lambda (a b . c) (list a b c)) 1 '(2 3 4))", "(1 2 (3 4))"),
        ("(andmap (lambda (x) (> x 0)) '(1 2 3))", "#t"),
        ("(andmap (lambda (x) (> x 1)) '(1 2 3))", "#f"),
        ("(ormap (lambda (x) (and (> x 1) (* x 10))) '(1 2 3))", "20"),
        ("(ormap (lambda (x) (> x 5)) '(1 2 3))", "#f"),
        ("((compose (lambda (x) (* x 2)) (lambda (x) (+ x 1))) 5)", "12"),
        ("(list-index (lambda (x) (string? x)) '(1 a \"s\" 2))", "2"),
        ("(list-index (lambda (x) (string? x)) '(1 2))", "#f"),
        ("(map car '((1 2) (3 4)))", "(1 3)"),
        ("(identity 'x)", "x"),
    ],
)
def test_defect_higher_order_primitives_accept_closures(src: str, printed: str) -> None:
    assert value(src) == printed


def test_defect_for_each_with_closure_displays_in_order() -> None:
    assert last("(for-each (lambda (x) (display x) (display \",\")) '(1 2 3))") == "1,2,3,\n=> null"


def test_defect_list_to_stream_makes_a_real_stream() -> None:
    src = """
    (define s (list->stream '(1 2 3)))
    (stream-car s)
    (stream-car (stream-cdr s))
    (stream->list (stream-map (lambda (x) (* 10 x)) s))
    """
    results = run(src)
    assert results[1:3] == ["=> 1", "=> 2"]
    assert results[3] == "=> (10 20 30)"


def test_defect_list_to_stream_tail_is_a_promise_not_the_list() -> None:
    src = "(define s (list->stream '(1 2 3))) (cdr s) (list? s)"
    results = run(src)
    assert results[1] == "=> <promise>"
    assert results[2] == "=> #f"


def test_defect_stream_cdr_forces_lazily() -> None:
    src = """
    (define log '())
    (define (noisy n) (set! log (cons n log)) n)
    (define s (cons-stream (noisy 1) (cons-stream (noisy 2) (cons-stream (noisy 3) '()))))
    log
    (stream-car (stream-cdr s))
    log
    """
    results = run(src)
    assert results[3] == "=> (1)"
    assert results[4] == "=> 2"
    assert results[5] == "=> (2 1)"


@pytest.mark.parametrize(
    "src",
    ['(+ 1 "a")', "(* 'x 2)", "(- \"5\" 1)", "(/ 1 #t)", "(< 1 'b)", "(+ 1 '())", "(sqrt \"4\")"],
)
def test_defect_mistyped_arithmetic_errors_instead_of_nan(src: str) -> None:
    text = last(src)
    assert text.startswith("error: "), text
    assert "NaN" not in text and "nan" not in text


def test_defect_parameter_names_print_plainly() -> None:
    assert run("(define (f x y) x) f (lambda (first second . others) 1)") == [
        "=> f", "=> <closure (x y)>", "=> <closure (first second . others)>",
    ]
    assert value("(let ((g (lambda (x) x))) g)") == "<closure (x)>"
    assert value("(define (outer) (define (inner a b) a) inner) (outer)") == "<closure (a b)>"


# --- eval, gensym, error, apply ------------------------------------------------------------------


def test_eval_of_quoted_datum_in_global_environment() -> None:
    assert value("(eval '(+ 1 2))") == "3"
    assert value("(define x 10) (eval 'x)") == "10"
    assert value("(eval (list '* 6 7))") == "42"
    assert value("(define x 10) (let ((x 1)) (eval 'x))") == "10"  # global, not local
    assert run("(eval '(define made-by-eval 5)) made-by-eval")[-1] == "=> 5"


def test_eval_of_self_evaluating_data() -> None:
    assert value('(eval "s")') == '"s"'
    assert value("(eval 5)") == "5"


def test_gensym_makes_fresh_symbols() -> None:
    src = "(define a (gensym)) (define b (gensym)) (list (symbol? a) (eq? a b) (equal? a b))"
    assert value(src) == "(#t #f #f)"


def test_gensym_with_prefix() -> None:
    text = value("(gensym 'tmp)")
    assert text.startswith("tmp")


def test_error_with_message_and_irritants() -> None:
    message = error('(error "something bad:" 42 "str" \'sym (list 1 2))')
    assert message.startswith('something bad: 42 "str" sym (1 2)')


def test_error_message_only() -> None:
    assert error('(error "plain message")').startswith("plain message")


def test_error_inside_procedure_stops_the_form_only() -> None:
    src = '(define (check x) (if (< x 0) (error "negative:" x) x)) (check -5) (check 5)'
    results = run(src)
    assert results[1].startswith("error: negative: -5")
    assert results[2] == "=> 5"


def test_apply_spreads_arguments() -> None:
    assert value("(apply + '(1 2 3))") == "6"
    assert value("(apply + 1 2 '(3 4))") == "10"
    assert value("(apply list 'a '())") == "(a)"
    assert value("(apply max '(3 9 2))") == "9"
    assert "apply" in error("(apply + 1 2)")
