"""The dev kit: what the tests, the benchmarks and the demo run the project on."""
