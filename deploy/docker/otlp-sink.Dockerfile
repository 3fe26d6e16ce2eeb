# A stand-in OpenTelemetry collector for machines that cannot pull one:
# scir-otlp-sink receives OTLP/gRPC traces and metrics on 4317 and logs a line per
# export. The build context is a directory holding the scir-otlp-sink binary.
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot
FROM ${RUNTIME_IMAGE}
COPY scir-otlp-sink /usr/local/bin/scir-otlp-sink
USER 65532:65532
EXPOSE 4317
ENTRYPOINT ["/usr/local/bin/scir-otlp-sink", "0.0.0.0:4317"]
