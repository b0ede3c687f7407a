"""The official scorers' answer rules, written anew so that a puyu number can stand beside a published one.

Each function reproduces one rule of the code that produced a published score (cited where it is defined), quirks
included: a number read the official way can be compared with the official number. tests/test_eval_parity.py pins
their results on fixed predictions against values computed once with the official code. puyu's own, more lenient
reading of answers stays in puyu.core.answers and puyu.eval.answers and is reported beside these, never instead.
"""
