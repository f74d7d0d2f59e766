"""The one compiled part: mamori.slo._scan (NDJSON event counting). Everything else is in pyproject.toml."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "mamori.slo._scan",
            ["src/mamori/slo/_scan.c"],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-missing-field-initializers"],
            optional=True,  # without a compiler Mamori counts in Python; CI fails if it is not built
        )
    ]
)
