"""Components and the whole system: the processor and memory component tops, the system top, the probe."""
