"""Step counts of a fixed set of programs, pinned: they are part of recorded sessions.

A session's log records where a checkpoint was taken inside an input (its form and the steps that
form had run) and how many steps a stopped command ran; a goto or a rebuild replays to those counts.
A change to how many steps a construct takes would make every such replay of an existing session
land somewhere else, silently. The counts below were taken on the round-6 machine (0875701); a
speed-up may change how steps are dispatched (fused, written in), never how many there are. Round 7
broke this for ``length``, ``list-ref`` and ``equal?`` as operands (``(+ 1 (length l))`` took 3
steps instead of 1): this test would have failed.
"""

from __future__ import annotations

import pytest

from omega_core.lang.builtins import fresh_globals
from omega_core.lang.compiler import compile_unit
from omega_core.lang.machine import Machine, Status
from omega_core.lang.printer import write_string
from omega_core.lang.reader import read_all

PINNED: list[tuple[str, int, str]] = [
    ("(define (iota n) (let loop ((i (- n 1)) (acc (quote ()))) (if (< i 0) acc (loop (- i 1) (cons i acc)))))", 1, "iota"),
    ("(+ 1 2)", 1, "3"),
    ("(define l (list 1 2 3 4 5))", 1, "l"),
    ("(+ 1 (length l))", 1, "6"),
    ("(length l)", 1, "5"),
    ("(define n (length l))", 1, "n"),
    ("(if (equal? l (list 1 2 3 4 5)) (list-ref l 2) 0)", 4, "3"),
    ("(+ (list-ref l 1) (list-ref l 3))", 1, "6"),
    ("(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))", 1, "fib"),
    ("(fib 15)", 7891, "610"),
    ("(define (loop i acc) (if (= i 0) acc (loop (- i 1) (+ acc i))))", 1, "loop"),
    ("(loop 3000 0)", 6003, "4501500"),
    ("(define (deep n) (if (= n 0) 0 (+ 1 (deep (- n 1)))))", 1, "deep"),
    ("(deep 2000)", 8003, "2000"),
    ("(fold-left + 0 (filter even? (map (lambda (x) (* x x)) (iota 300))))", 5163, "4455100"),
    ("(length (append (iota 200) (reverse (iota 100))))", 661, "300"),
    ("(let loop ((i 0) (s \"\")) (if (= i 50) (string-length s) (loop (+ i 1) (string-append s \"ab\"))))", 109, "100"),
    ("(let* ((a 1) (b (+ a 1))) (cond ((> a b) 'x) ((= b 2) 'y) (else 'z)))", 5, "y"),
    ("(and (pair? l) (or (null? '()) 5))", 2, "#t"),
    ("(define counter 0)", 1, "counter"),
    ("(begin (set! counter (+ counter 1)) counter)", 4, "1"),
    ("(call/cc (lambda (k) (+ 1 (k 42))))", 3, "42"),
    ("(apply + 1 2 (list 3 4))", 1, "10"),
    ("(define h (make-hash))", 1, "h"),
    ("(begin (hash-set! h 'a 1) (hash-ref h 'a 0))", 2, "1"),
    ("(define s (list->stream (iota 50)))", 126, "s"),
    ("(stream->list (stream-take (stream-map (lambda (x) (* 2 x)) (stream-filter odd? s)) 10))", 976, "(2 6 10 14 18 22 26 30 34 38)"),
    ("(string-join (map number->string (iota 20)) \",\")", 193, "\"0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19\""),
    ("(equal? (iota 100) (iota 100))", 423, "#t"),
    ("(member 7 (iota 20))", 52, "(7 8 9 10 11 12 13 14 15 16 17 18 19)"),
    ("(assoc 'b '((a 1) (b 2)))", 1, "(b 2)"),
    ("(last (iota 30))", 72, "29"),
    ("(take (drop (iota 40) 10) 5)", 94, "(10 11 12 13 14)"),
    ("(let ((v (map (lambda (x) (list x x)) (iota 20)))) (length v))", 214, "20"),
]
"""(source, steps of its forms, value of the last form), run in order on one machine."""


@pytest.mark.parametrize("slice_steps", [1, 7, 1000])
def test_every_program_takes_its_pinned_steps_at_every_slice_size(slice_steps: int) -> None:
    machine = Machine(fresh_globals())
    for source, pinned_steps, pinned_value in PINNED:
        before = machine.steps
        for datum in read_all(source).forms:
            machine.start(compile_unit(datum, "pinned").root)
            while machine.run(slice_steps) is Status.RUNNING:
                pass
            assert machine.status is Status.DONE, (source, machine.error)
        assert (machine.steps - before, write_string(machine.value)) == (pinned_steps, pinned_value), source
