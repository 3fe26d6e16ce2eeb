"""What a new integrator sees with the official Python clients: on every port,
reflection (v1alpha, as grpcio-reflection asks) lists exactly the service that
port serves, descriptors resolve, health answers, and a method the port does
not serve is UNIMPLEMENTED without a token.

Usage: reflection.py ADDRESS=SERVICE[,ALSO...] [ADDRESS=SERVICE[,ALSO...] ...]
(ALSO: services the port serves beside its own, e.g. the webhooks)
"""

import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from google.protobuf.descriptor_pool import DescriptorPool


def methods(address: str, service: str) -> list[str]:
    """The full paths of a service's methods, as its own port describes them."""
    pool = DescriptorPool(ProtoReflectionDescriptorDatabase(grpc.insecure_channel(address)))
    return [f"/{service}/{m.name}" for m in pool.FindServiceByName(service).methods]


def check(address: str, service: str, also: list[str], foreign: list[str]) -> None:
    channel = grpc.insecure_channel(address)
    database = ProtoReflectionDescriptorDatabase(channel)
    listed = set(database.get_services())
    expected = {service, *also, "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"}
    assert listed == expected, f"{address}: lists {sorted(listed)}, expected {sorted(expected)}"

    pool = DescriptorPool(database)
    descriptor = pool.FindServiceByName(service)
    assert descriptor.methods, f"{address}: {service} has no methods"

    health = health_pb2_grpc.HealthStub(channel)
    status = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status
    assert status == health_pb2.HealthCheckResponse.SERVING, f"{address}: {status}"

    # Unknown methods, and every method of the other services.
    for path in ["/no.such.Service/Method", f"/{service}/NoSuchMethod"] + foreign:
        call = channel.unary_unary(path, request_serializer=bytes, response_deserializer=bytes)
        try:
            call(b"", timeout=5)
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.UNIMPLEMENTED, (
                f"{address} {path}: {error.code()} {error.details()}"
            )
        else:
            raise AssertionError(f"{address} {path}: answered")
    print(f"{address}: {service} ok ({len(descriptor.methods)} methods)")


def main() -> None:
    ports = []
    for arg in sys.argv[1:]:
        address, services = arg.split("=", 1)
        service, *also = services.split(",")
        ports.append((address, service, also))
    paths = {service: methods(address, service) for address, service, _ in ports}
    for address, service, also in ports:
        foreign = [p for other, ps in paths.items() if other != service for p in ps]
        check(address, service, also, foreign)


if __name__ == "__main__":
    main()
