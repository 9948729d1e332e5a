#!/usr/bin/env bash
# Build llama.cpp's own HTTP server (llama-server) from the llama.cpp source vendored in the
# llama-cpp-python sdist of the version installed in the venv, into a cache outside the checkout
# (so a fresh clone on the same machine reuses it):
#
#   scripts/build-llama-server.sh PYTHON
#
# The destination is promptlab.backends.llama_server.llama_server_cache_dir():
# $PROMPTLAB_CACHE_DIR or ~/.cache/promptlab, then llama-server/<llama-cpp-python version>.
# A finished build there is reused (a no-op); an interrupted one resumes where it stopped.
# No network at build time beyond the package registry that pip already uses: the web UI
# is not fetched or built, HTTPS and curl are off.
# CFLAGS/CXXFLAGS from the environment are honoured (the Makefile passes the no-AMX flags).
set -euo pipefail
python=$1
dest=$("$python" -c 'from promptlab.backends.llama_server import llama_server_cache_dir; print(llama_server_cache_dir())')
version=$(basename "$dest")
if [[ -x "$dest/bin/llama-server" ]]; then
    echo "llama-server $version: $dest/bin/llama-server"
    exit 0
fi
work="$dest/work"
mkdir -p "$work"
started=$(date +%s)
src="$work/llama_cpp_python-$version/vendor/llama.cpp"
if [[ ! -d "$src" ]]; then
    "$python" -m pip download --quiet --no-deps --no-binary :all: "llama-cpp-python==$version" -d "$work"
    tar -xzf "$work/llama_cpp_python-$version.tar.gz" -C "$work"
fi
if [[ ! -f "$work/build/CMakeCache.txt" ]]; then
    generator=()
    command -v ninja >/dev/null && generator=(-G Ninja)
    cmake -S "$src" -B "$work/build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
        -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF \
        -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF >"$dest/build.log"
fi
echo "building llama-server $version into $dest (about 25 minutes on 2 cores, once)"
cmake --build "$work/build" --target llama-server -j "${JOBS:-$(nproc)}" >>"$dest/build.log"
mkdir -p "$dest/bin"
cp "$work/build/bin/llama-server" "$dest/bin/llama-server.tmp"
cp "$src/LICENSE" "$dest/LICENSE"
mv "$dest/bin/llama-server.tmp" "$dest/bin/llama-server"
rm -rf "$work"
echo "llama-server $version built in $(( $(date +%s) - started )) s: $dest/bin/llama-server"
