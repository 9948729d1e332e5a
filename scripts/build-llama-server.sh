#!/usr/bin/env bash
# Build llama.cpp's own HTTP server (llama-server) from the llama.cpp source vendored in the
# llama-cpp-python sdist of the version installed in the venv, into a cached directory.
#
#   scripts/build-llama-server.sh PYTHON DEST
#
# A build of the same llama-cpp-python version already in DEST is reused (a no-op).
# No network at build time beyond the package registry that pip already uses: the web UI
# is not fetched (LLAMA_USE_PREBUILT_UI=OFF), HTTPS and curl are off.
# CFLAGS/CXXFLAGS from the environment are honoured (the Makefile passes the no-AMX flags).
set -euo pipefail
python=$1
dest=$2
version=$("$python" -c 'import llama_cpp; print(llama_cpp.__version__)')
if [[ -x "$dest/bin/llama-server" && "$(cat "$dest/VERSION" 2>/dev/null)" == "$version" ]]; then
    exit 0
fi
work="$dest/work"
rm -rf "$dest" && mkdir -p "$work"
started=$(date +%s)
"$python" -m pip download --quiet --no-deps --no-binary :all: "llama-cpp-python==$version" -d "$work"
tar -xzf "$work/llama_cpp_python-$version.tar.gz" -C "$work"
src="$work/llama_cpp_python-$version/vendor/llama.cpp"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S "$src" -B "$work/build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
    -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF \
    -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF >"$dest/cmake.log"
cmake --build "$work/build" --target llama-server -j "${JOBS:-$(nproc)}" >>"$dest/cmake.log"
mkdir -p "$dest/bin"
cp "$work/build/bin/llama-server" "$dest/bin/llama-server"
cp "$src/LICENSE" "$dest/LICENSE"
rm -rf "$work"
echo "$version" >"$dest/VERSION"
echo "llama-server $version built in $(( $(date +%s) - started )) s: $dest/bin/llama-server"
