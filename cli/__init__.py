"""Headless command-line subcommands of main.py (train, info, export)."""
