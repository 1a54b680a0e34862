"""The machine a benchmark ran on, as its reports name it: figures differ between machines of
the same size (a lone question embeds in 5.5 ms on one 2-core AMD EPYC, 9.4 ms on a 2-core
Xeon), so every report says which CPU it measured."""

import os
import re
import sys
from pathlib import Path

import psutil


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name from Linux's ``/proc/cpuinfo``; ``unknown CPU`` elsewhere."""
    try:
        found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
    except OSError:
        return "unknown CPU"
    return found.group(1).strip() if found else "unknown CPU"


def describe_machine() -> str:
    memory = psutil.virtual_memory().total / 2**30
    return f"{os.cpu_count()} cores ({cpu_model()}), {memory:.0f} GiB, {sys.platform}"
