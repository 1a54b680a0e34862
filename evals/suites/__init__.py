"""Evaluation suites: each a module with add_arguments() and run()."""
