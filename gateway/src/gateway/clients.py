"""The gateway's gRPC stubs to the domain services, over channels with deadlines and retries."""

from __future__ import annotations

from grpc_health.v1 import health_pb2_grpc

from gateway.config import GatewaySettings
from leadflood.icp.v1 import icp_pb2_grpc
from leadflood.jobs.v1 import jobs_pb2_grpc
from leadflood.leads.v1 import leads_pb2_grpc
from leadflood_platform import grpc_client

SERVICES = ("icp", "leads", "sequences", "inbox", "runs")


class Services:
    def __init__(self, settings: GatewaySettings) -> None:
        traced = bool(settings.otel_exporter_otlp_endpoint)
        self.channels = {
            name: grpc_client.channel(settings.grpc_target(name), timeout_s=settings.grpc_call_timeout_s, traced=traced)
            for name in SERVICES
        }
        self.icp = icp_pb2_grpc.IcpServiceStub(self.channels["icp"])
        self.leads = leads_pb2_grpc.LeadsServiceStub(self.channels["leads"])
        self.jobs = {name: jobs_pb2_grpc.JobsServiceStub(ch) for name, ch in self.channels.items()}
        self.health = {name: health_pb2_grpc.HealthStub(ch) for name, ch in self.channels.items()}

    async def close(self) -> None:
        for channel in self.channels.values():
            await channel.close()
