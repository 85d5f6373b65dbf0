"""Abnormal-order checks: Great Expectations suites over the marts, and the exception lifecycle."""
