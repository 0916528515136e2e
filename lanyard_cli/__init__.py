"""The `lanyard` command: the one place that wires the core, the site and the workers."""
