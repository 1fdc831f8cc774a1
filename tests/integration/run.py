#!/usr/bin/env python3
"""Runs the integration tests: every test_*.py here, each test_* function in
file order. Usage: run.py [substring filter]. Exit status 1 if any failed,
or if the filter matched no test (a typo must not be green)."""
import importlib.util
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def main():
    pattern = sys.argv[1] if len(sys.argv) > 1 else ""
    failed, passed = [], 0
    for fname in sorted(f for f in os.listdir(HERE) if f.startswith("test_") and f.endswith(".py")):
        spec = importlib.util.spec_from_file_location(fname[:-3], os.path.join(HERE, fname))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        tests = [(n, f) for n, f in vars(mod).items() if n.startswith("test_") and callable(f)]
        tests.sort(key=lambda t: t[1].__code__.co_firstlineno)
        for name, fn in tests:
            full = "%s::%s" % (fname, name)
            if pattern and pattern not in full:
                continue
            started = time.time()
            try:
                fn()
                passed += 1
                print("PASS %-70s %6.2fs" % (full, time.time() - started), flush=True)
            except Exception:
                failed.append(full)
                print("FAIL %-70s %6.2fs" % (full, time.time() - started), flush=True)
                traceback.print_exc()
    print("\n%d passed, %d failed" % (passed, len(failed)))
    if passed + len(failed) == 0:
        print("no test matches %r: nothing ran" % pattern)
        return 1
    for f in failed:
        print("  failed:", f)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
