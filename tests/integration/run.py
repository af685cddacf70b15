#!/usr/bin/env python3
"""Run every tests/integration/test_*.py and report. Each test module defines functions named
test_*; each gets a fresh temporary directory. A test fails on an exception, on a sanitizer report
in any daemon's stderr, or when a daemon it started exits unexpectedly.

    run.py --bin build/forestall [--tools build/tools] [-k SUBSTRING]
Prints one line per test and, last, "integration P/T passed".
"""
import argparse
import importlib.util
import os
import sys
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
                    tests.append((full, getattr(mod, attr)))
    passed = 0
    for full, fn in tests:
        t0 = time.monotonic()
        ctx = lib.Context(full)
        try:
            fn(ctx)
            ctx.finish()
            passed += 1
            print(f"ok    {full} ({time.monotonic() - t0:.1f}s)", flush=True)
        except Exception:  # noqa: BLE001 - report every failure the same way
            print(f"FAIL  {full} ({time.monotonic() - t0:.1f}s)", flush=True)
            traceback.print_exc()
            ctx.dump_logs()
        finally:
            ctx.cleanup()
    print(f"integration {passed}/{len(tests)} passed", flush=True)
    return 0 if passed == len(tests) and tests else 1


if __name__ == "__main__":
    sys.exit(main())
