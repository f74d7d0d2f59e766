"""Side-by-side measurements against peers; run with `make bench` or `python -m benchmarks.<name>`."""
