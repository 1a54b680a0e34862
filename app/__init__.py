"""Groundwork: composition root, HTTP/UI edge, chat use case and the shared kernel."""
