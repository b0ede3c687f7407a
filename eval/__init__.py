"""Offline benchmarks of agent models: `puyu eval` (cli.py) runs benchmarks (benchmarks/) through the runner
(runner.py), which caches predictions per item, and writes results, tables and charts (report.py)."""
