#!/usr/bin/env python3
"""Run every tests/integration/test_*.py and report. Each test module defines functions named
test_*; each gets a fresh temporary directory. A test fails on an exception, on a sanitizer report
in any daemon's stderr, or when a daemon it started exits unexpectedly.

    run.py --bin build/forestall [--tools build/tools] [-k SUBSTRING] [-j N]
Prints one line per test and, last, "integration P/T passed".

With -j N (N > 1) tests run N at a time, each in a process of its own with its output kept until
it ends, and each given its own block of loopback ports below the kernel's ephemeral range, so
that two tests never pick the same port. A module that sets SERIAL = True (it mounts, loads the
CPUs or times things) runs its tests afterwards, one at a time.
"""
import argparse
import importlib.util
import multiprocessing
import os
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lib  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--tools", default="")
    ap.add_argument("-k", default="")
    ap.add_argument("-j", type=int, default=1)
    args = ap.parse_args()
    lib.BIN = os.path.abspath(args.bin)
    lib.TOOLS = os.path.abspath(args.tools) if args.tools else ""
    tests = []
    for name in sorted(os.listdir(HERE)):
        if not (name.startswith("test_") and name.endswith(".py")):
            continue
        spec = importlib.util.spec_from_file_location(name[:-3], os.path.join(HERE, name))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for attr in sorted(dir(mod)):
            if attr.startswith("test_") and callable(getattr(mod, attr)):
                full = f"{name[:-3]}.{attr}"
                if args.k in full:
                    tests.append((full, getattr(mod, attr), getattr(mod, "SERIAL", False)))
    serial = [i for i, t in enumerate(tests) if t[2] or args.j <= 1]
    parallel = [i for i, t in enumerate(tests) if not t[2] and args.j > 1]
    passed = 0
    if parallel:
        global TESTS
        TESTS = tests
        pool = multiprocessing.get_context("fork").Pool(args.j, maxtasksperchild=1)
        for ok, text in pool.imap_unordered(run_captured, parallel):
            passed += ok
            print(text, end="", flush=True)
        pool.close()
        pool.join()
    for i in serial:
        passed += run_one(tests[i][0], tests[i][1])
    print(f"integration {passed}/{len(tests)} passed", flush=True)
    return 0 if passed == len(tests) and tests else 1


def run_one(full, fn):
    t0 = time.monotonic()
    ctx = lib.Context(full)
    try:
        fn(ctx)
        ctx.finish()
        print(f"ok    {full} ({time.monotonic() - t0:.1f}s)", flush=True)
        return 1
    except Exception:  # noqa: BLE001 - report every failure the same way
        print(f"FAIL  {full} ({time.monotonic() - t0:.1f}s)", flush=True)
        traceback.print_exc()
        ctx.dump_logs()
        return 0
    finally:
        ctx.cleanup()


TESTS = []


def run_captured(i):
    """Run test i in this (forked) process with stdout and stderr in a file; return (ok, text)."""
    full, fn, _ = TESTS[i]
    lib.PORT_BLOCK = i
    with tempfile.TemporaryFile(mode="w+", errors="replace") as out:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(out.fileno(), 1)
        os.dup2(out.fileno(), 2)
        ok = run_one(full, fn)
        sys.stdout.flush()
        sys.stderr.flush()
        out.seek(0)
        return ok, out.read()


if __name__ == "__main__":
    sys.exit(main())
