# pare in a container, built in two stages: the first compiles with Debian's
# build packages (scripts/setup.sh --build), the second holds only the
# installed files and the shared libraries they link.
#   docker build -t pare .
#   docker run --rm -v "$PWD:/work" -w /work pare shrink model.onnx -o small.onnx
# The binary is portable (x86-64-v2, the default PARE_MARCH); build with
# --build-arg PARE_MARCH=native for the build machine's CPU only.

FROM debian:bookworm AS build
ARG PARE_MARCH=
COPY scripts/setup.sh /src/scripts/setup.sh
RUN /src/scripts/setup.sh --build && rm -rf /var/lib/apt/lists/*
COPY . /src
RUN cmake -S /src -B /build -DCMAKE_BUILD_TYPE=Release ${PARE_MARCH:+-DPARE_MARCH=$PARE_MARCH} \
 && cmake --build /build -j"$(nproc)" --target pare pare-run pare_runtime_static pare_runtime_shared pare_man \
 && cmake --install /build --prefix /opt/pare

FROM debian:bookworm-slim
# The shared libraries pare links (ldd build/pare): fmt, ONNX, protobuf, yaml-cpp, zlib.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libfmt9 libonnx1 libprotobuf32 libyaml-cpp0.7 zlib1g \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/pare /usr/local
RUN ldconfig && pare --version
ENTRYPOINT ["pare"]
CMD ["help"]
