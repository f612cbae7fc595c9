"""Shared helpers for the cocotb and pytest tests."""
