"""Puts tests/ on sys.path so that every test directory can import the shared helper
``cpu_kinds`` (running code as another CPU kind would)."""
