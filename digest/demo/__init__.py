"""Demo data: a realistic, deterministic world for the demo, the tests and the benchmarks."""
